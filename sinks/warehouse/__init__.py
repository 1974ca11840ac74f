"""The warehouse sink: append-only facts, current state, closed-loop reporting views."""
