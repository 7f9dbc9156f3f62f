"""The main job (confluence_to_es.py) and the parts it is made of."""
