"""The one ``avcorr`` command. Each subcommand lives in its own module of this package and
registers itself through ``register(app)``; ``main`` discovers them."""
