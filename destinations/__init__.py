"""dlt destinations of this project.

`destinations.elastic` holds the Elasticsearch sink; the `es_*` modules next to it are its parts
(settings, client factory, index mapping, bulk writer, dead-letter index, retry policy), kept apart
so each can be read and tested on its own.
"""
