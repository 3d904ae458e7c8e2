"""Patient-message triage for Rasa: decision, red flags, clinic facts, CLI."""

DECISION_ANSWER = "answer"
DECISION_PRIVATE = "private"
DECISION_CRISIS = "crisis"
DECISIONS = (DECISION_ANSWER, DECISION_PRIVATE, DECISION_CRISIS)


def _quiet_third_party_warnings() -> None:
    """Progress lines and real problems only: hide other packages' deprecation notices.

    Here because every entry point (CLI, `python -m triage.serve`, the console, the worker)
    imports this package before Rasa. Our own modules' warnings stay visible.
    """
    import warnings

    # sanic/app.py turns every DeprecationWarning back on ("once") when it is imported, in front
    # of any filter set before; import it first so that ours come in front of it.
    import sanic.app  # noqa: F401

    deprecations = (DeprecationWarning, PendingDeprecationWarning)
    for module in (
        "pkg_resources",  # declare_namespace (google, ruamel and other namespace packages)
        "apscheduler",  # "pkg_resources is deprecated as an API" (its own import of it)
        "matplotlib",  # PyparsingDeprecationWarning: setParseAction, parseString, resetCache
        "sanic_cors",  # sanic_cors' own deprecations under Rasa's server
        "sanic",  # Sanic's deprecation notices for Rasa's use of its API
        "tensorflow",  # jax.xla_computation from tensorflow.lite, TF's own notices
        "jax",  # jax deprecations when TensorFlow imports it
        "keras",  # Keras under TensorFlow
        "rasa",  # Rasa's calls into old APIs (SQLAlchemy 1.x tracker store, numpy, TF)
        "rasa_sdk",  # the action server's
        "google",  # protobuf
        "importlib",  # "the load_module() method is deprecated" (a 3.10 importer of six)
        "random",  # "non-integer arguments to randrange()" (a Rasa dependency's float arguments)
    ):
        for category in deprecations:
            warnings.filterwarnings("ignore", category=category, module=module)
    # Rasa itself lists this one as expected: raised for every domain with slots.
    warnings.filterwarnings("ignore", message="Slot auto-fill has been removed in 3.0", category=UserWarning)
    # SQLAlchemy 2.0's notice about Rasa's tracker store (the Makefile's SQLALCHEMY_SILENCE_UBER_WARNING
    # does the same for processes that do not import this package).
    warnings.filterwarnings("ignore", message="Deprecated API features detected", category=DeprecationWarning)


_quiet_third_party_warnings()
