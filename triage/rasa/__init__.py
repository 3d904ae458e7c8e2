"""Everything Rasa loads by name from config.yml and endpoints.yml, in one package.

    triage.rasa.component.TriageDecider          NLU: the triage decision (config.yml pipeline)
    triage.rasa.sensitivity.SensitivityClassifier NLU: the sensitivity veto (config.yml pipeline)
    triage.rasa.rule_policy.RecentTurnsRulePolicy policies (config.yml)
    triage.rasa.nlg.TriageNLG                     nlg (endpoints.yml)
    triage.rasa.tracker_store.EncryptedSQLTrackerStore, triage.rasa.lock_store.AtomicRedisLockStore,
    triage.rasa.event_broker.PhiFreePikaEventBroker (endpoints*.yml, docker/helm)

A trained model archive stores its components' class paths: a model trained before a
move here must be retrained. ``install()`` applies our monkeypatches of Rasa
(triage/rasa/patches.py); the component module calls it, so every process that loads
a model (the server, `rasa shell`, `rasa test`, `triage classify`) has them.
"""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# The Rasa versions the patches were checked against (tests/test_rasa_patches.py). They
# replace private Rasa methods: on any other version they are not applied.
TESTED_RASA_VERSIONS = ("3.6.21",)

_installed = False


def install() -> bool:
    """Applies the patches once per process; True when they are in place."""
    global _installed
    if _installed:
        return True
    import rasa

    version = getattr(rasa, "__version__", "unknown")
    if version not in TESTED_RASA_VERSIONS:
        logger.warning("Rasa %s: our Rasa patches (triage/rasa/patches.py) were tested on %s only; "
                       "not applied, Rasa runs unpatched (slower, same behaviour)",
                       version, ", ".join(TESTED_RASA_VERSIONS))
        return False
    from triage.rasa import patches

    patches.apply()
    _installed = True
    return True
