"""The live runtime on Faust: input topics → ingest → event-time router → partitioned engine.

Data path (one Kafka topic between each stage, internal topics prefixed by the app id):

* ``ingest`` (input topics, any number of workers; a plain consumer, ``inputs.py``): decode +
  validate, dead-letter bad records, batch valid events with a progress report per input
  partition.
* ``route`` (one partition, so one active worker): merges the input partitions in event-time
  order using those progress reports, resolves which identity cluster (account, domain or
  lone contact) an event belongs to, and forwards it in order to that cluster's partition.
* ``decide`` (N partitions, any number of workers): the same ``processors.engine.Engine`` as
  replay, one per partition, its state in a changelogged Faust table.
"""
