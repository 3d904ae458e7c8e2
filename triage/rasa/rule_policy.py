"""RecentTurnsRulePolicy: Rasa's RulePolicy, which reads only as far back as a rule can reach.

Before each prediction RulePolicy turns the whole conversation into dialogue states,
twice after a user message (once for text, once for intent), and formats them all
for a debug line: three passes over every event of the session, on every turn. A
200-turn conversation spent more time there than in the language model.

Yet a rule can only match the last N states, N being the length of the longest rule
(RulePolicy._get_possible_keys accepts every rule at any state further back). So the
states are computed from a tracker of the recent events only. That gives the same
last N states, hence the same prediction, when
- the recent events hold N + 2 actions, and before them a user message and an action,
  so the earliest state that counts already has its latest message and previous action;
- no slot influences the conversation and the domain has no forms, so the states carry
  nothing that an older event could have set;
- no loop or undo event (ActiveLoop, ActionReverted, UserUtteranceReverted) is in the
  conversation, since those change which earlier events apply.
Otherwise, and for training trackers, the whole tracker is used as before.
tests/test_rule_policy.py compares every prediction with RulePolicy's.
"""
from __future__ import annotations

import itertools
import warnings
from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, ActionReverted, ActiveLoop, UserUttered, UserUtteranceReverted
from rasa.shared.core.trackers import DialogueStateTracker

# Rasa's config validator looks for RulePolicy by exact class, not subclass, and would warn
# on every training that /restart and /back no longer work; they do (inherited, and
# compared in tests/test_rule_policy.py).
warnings.filterwarnings("ignore", message="'RulePolicy' is not included in the model's policy configuration")

# Events that make the applied history depend on events further back.
_REACHING_BACK = (ActiveLoop, ActionReverted, UserUtteranceReverted)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class RecentTurnsRulePolicy(RulePolicy):
    _longest_rule: Optional[int] = None

    def _prediction_states(self, tracker: DialogueStateTracker, domain: Domain,
                           use_text_for_last_user_input: bool = False,
                           rule_only_data: Optional[Dict[Text, Any]] = None) -> List[State]:
        return super()._prediction_states(self.recent(tracker, domain), domain, use_text_for_last_user_input,
                                          rule_only_data)

    def longest_rule(self) -> int:
        """In states; the lookup is fixed once the policy is trained or loaded."""
        if self._longest_rule is None:
            keys = itertools.chain(self.lookup.get(RULES, {}), self.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {}))
            self._longest_rule = max((len(self._rule_key_to_state(key)) for key in keys), default=0)
        return self._longest_rule

    def recent(self, tracker: DialogueStateTracker, domain: Domain) -> DialogueStateTracker:
        """A tracker of the recent events that gives the same prediction, or ``tracker`` itself."""
        # Training trackers (TrackerWithCachedStates) cache their own states.
        if type(tracker) is not DialogueStateTracker or domain.form_names:
            return tracker
        if any(slot.influence_conversation for slot in domain.slots):
            return tracker
        events = tracker.events
        actions_needed = self.longest_rule() + 2
        if len(events) <= 3 * actions_needed:
            return tracker  # short conversations: nothing to gain
        if any(isinstance(event, _REACHING_BACK) for event in events):
            return tracker
        actions, seen_user, seen_action = 0, False, False
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if actions < actions_needed:
                actions += isinstance(event, ActionExecuted)
                continue
            seen_user = seen_user or isinstance(event, UserUttered)
            seen_action = seen_action or isinstance(event, ActionExecuted)
            if seen_user and seen_action:
                return self._tail(tracker, index) if index else tracker
        return tracker

    @staticmethod
    def _tail(tracker: DialogueStateTracker, start: int) -> DialogueStateTracker:
        tail = tracker.init_copy()
        for event in itertools.islice(tracker.events, start, None):
            tail.update(event)
        return tail
