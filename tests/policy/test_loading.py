"""Loading plans: the example loads, every mistake is located, nothing half-loads."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from psirf_flow.domain import Role
from psirf_flow.errors import PlanError, PlanProblem, PsirfFlowError
from psirf_flow.policy import (
    AllOf,
    AnyOf,
    Approver,
    Basis,
    CalendarSettings,
    CandourTargets,
    Committee,
    CommitteeKind,
    Comparison,
    Condition,
    Decider,
    Duration,
    DurationUnit,
    EscalationLadder,
    EscalationTier,
    FactTest,
    LifecycleVariant,
    Not,
    Plan,
    PlanHeader,
    PlanStatus,
    Priority,
    Region,
    ReserveCapacity,
    ResponseOptions,
    ResponseType,
    ScheduledReview,
    Scope,
    Timescale,
    TimeUnit,
    TriageSettings,
    dump_plan,
    load_plan,
    load_plan_file,
    plan_problems,
)
from psirf_flow.policy.facts import DECLARABLE_KINDS, FACTS, FactDeclaration


BASE = """\
schema = 1

[plan]
id = "rx9-psirp"
version = "1.0"
organisation = "RX9"
status = "board_approved"
effective_from = 2026-04-01
effective_to = 2027-03-31
review_date = 2027-01-31
board_approved_on = 2026-03-01

[response_types.psii]
maps_to = "psii"
timescale = { amount = 3, unit = "months" }
sign_off = [{ role = "executive_lead" }]
escalation_ladder = "late"

[response_types.aar]
maps_to = "after_action_review"
sign_off = [
  { role = "senior_leader" },
  { committee = "psg" },
]

[[priorities]]
id = "falls"
criteria = { fact = "categories", includes = "falls" }
responses = { allowed = ["aar", "psii"], default = "aar" }

[[priorities]]
id = "self-harm"
scope = { service_lines = ["cmht"] }
responses = { allowed = ["psii"], default = "psii" }

[duty_of_candour]
verbal_working_days = 10

[escalation_ladders.late]
tiers = [
  { after = { amount = 0, unit = "working_days" }, notify = ["patient_safety_specialist"] },
  { after = { amount = 5, unit = "working_days" }, notify = ["executive_lead"] },
]
"""

# (id, text replaced, replacement, expected path, a unique piece of the line it is on)
MISTAKES = [
    ("schema", "schema = 1", "schema = 2", "schema", "schema = 2"),
    (
        "wrong-type",
        'organisation = "RX9"',
        "organisation = 9",
        "plan.organisation",
        "organisation = 9",
    ),
    ("missing", "review_date = 2027-01-31\n", "", "plan.review_date", "[plan]"),
    (
        "status-needs-date",
        "board_approved_on = 2026-03-01\n",
        "",
        "plan.board_approved_on",
        "[plan]",
    ),
    (
        "dates-out-of-order",
        "effective_to = 2027-03-31",
        "effective_to = 2026-03-31",
        "plan.effective_to",
        "effective_to",
    ),
    (
        "unknown-lifecycle",
        'maps_to = "psii"',
        'maps_to = "investigation"',
        "response_types.psii.maps_to",
        '"investigation"',
    ),
    (
        "timescale-over-cap",
        'amount = 3, unit = "months"',
        'amount = 7, unit = "months"',
        "response_types.psii.timescale",
        "amount = 7",
    ),
    (
        "empty-sign-off-chain",
        'sign_off = [{ role = "executive_lead" }]',
        "sign_off = []",
        "response_types.psii.sign_off",
        "sign_off = []",
    ),
    (
        "unknown-ladder",
        'escalation_ladder = "late"',
        'escalation_ladder = "later"',
        "response_types.psii.escalation_ladder",
        '"later"',
    ),
    (
        "approver-role-and-committee",
        '{ committee = "psg" },',
        '{ committee = "psg", role = "senior_leader" },',
        "response_types.aar.sign_off[1]",
        'committee = "psg"',
    ),
    (
        "default-not-allowed",
        'default = "aar" }',
        'default = "hot_debrief" }',
        "priorities[0].responses.default",
        '"hot_debrief"',
    ),
    (
        "unknown-response-type",
        'allowed = ["psii"], default = "psii"',
        'allowed = ["psi"], default = "psi"',
        "priorities[1].responses.allowed[0]",
        '["psi"]',
    ),
    (
        "duplicate-priority-id",
        'id = "self-harm"',
        'id = "falls"',
        "priorities[1].id",
        'id = "falls"\nscope',
    ),
    (
        "unknown-fact",
        'fact = "categories"',
        'fact = "category"',
        "priorities[0].criteria.fact",
        '"category"',
    ),
    (
        "bad-test-value",
        'includes = "falls"',
        "includes = 3",
        "priorities[0].criteria.includes",
        "includes = 3",
    ),
    (
        "unknown-key",
        "verbal_working_days = 10",
        "verbal_working_days = 10\nverbal_days = 3",
        "duty_of_candour.verbal_days",
        "verbal_days = 3",
    ),
    (
        "candour-labelled-statutory",
        "verbal_working_days = 10",
        'verbal_working_days = 10\nbasis = "statutory"',
        "duty_of_candour.basis",
        '"statutory"',
    ),
    (
        "ladder-not-increasing",
        'amount = 5, unit = "working_days" }',
        'amount = 0, unit = "working_days" }',
        "escalation_ladders.late.tiers[1].after",
        '["executive_lead"]',
    ),
    (
        "unknown-role",
        'notify = ["executive_lead"]',
        'notify = ["chief"]',
        "escalation_ladders.late.tiers[1].notify[0]",
        '["chief"]',
    ),
]


def _line_of(text: str, needle: str) -> int:
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


def _mutate(*mistakes: tuple[str, str, str, str, str]) -> str:
    text = BASE
    for _, old, new, _, _ in mistakes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def _problems(text: str) -> tuple[PlanProblem, ...]:
    with pytest.raises(PlanError) as caught:
        load_plan(text, source="plan.toml")
    return caught.value.problems


class TestExamplePlan:
    """The example plan shipped in ``examples/`` is valid and round-trips."""

    def test_example_plan_loads(self, example_plan: Plan) -> None:
        """The shipped example loads, provisionally agreed, with a coined round table review."""
        assert example_plan.plan.status is PlanStatus.ICB_AGREED_PROVISIONALLY
        assert example_plan.variant_of("round_table_review") is LifecycleVariant.MDT_REVIEW
        assert len(example_plan.response_types["psii"].sign_off) == 3
        assert plan_problems(example_plan) == []

    def test_example_plan_round_trips(self, example_plan: Plan) -> None:
        """Dumping the example and loading it back gives an equal plan."""
        assert load_plan(dump_plan(example_plan)) == example_plan

    def test_base_plan_of_these_tests_is_valid(self) -> None:
        """The plan the mistakes are made in is itself valid."""
        assert load_plan(BASE).ref == "rx9-psirp@1.0"

    def test_load_plan_file_reads_a_named_file(self, tmp_path: Path) -> None:
        """A plan file is read from the path the caller names."""
        path = tmp_path / "plan.toml"
        path.write_text(BASE, encoding="utf-8")
        assert load_plan_file(path) == load_plan(BASE)


class TestMistakes:
    """Every mistake is reported with its TOML path and line."""

    @pytest.mark.parametrize(
        ("old", "new", "path", "needle"),
        [m[1:] for m in MISTAKES],
        ids=[m[0] for m in MISTAKES],
    )
    def test_each_mistake_is_located(self, old: str, new: str, path: str, needle: str) -> None:
        """A single mistake is reported at its path, on the line where it is written."""
        text = _mutate(("", old, new, path, needle))
        problems = _problems(text)
        located = {(p.path, p.line) for p in problems}
        assert (path, _line_of(text, needle)) in located, problems

    def test_several_mistakes_are_all_reported_at_once(self) -> None:
        """Structural and cross-field mistakes in different places are reported together."""
        chosen = [
            m
            for m in MISTAKES
            if m[0]
            in {
                "schema",
                "wrong-type",
                "timescale-over-cap",
                "approver-role-and-committee",
                "default-not-allowed",
                "duplicate-priority-id",
                "unknown-key",
                "ladder-not-increasing",
            }
        ]
        text = _mutate(*chosen)
        problems = _problems(text)
        located = {(p.path, p.line) for p in problems}
        for _, _, _, path, needle in chosen:
            assert (path, _line_of(text, needle)) in located, (path, problems)
        assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)

    def test_error_message_lists_every_problem(self) -> None:
        """The error's message names the source, the count and each problem's place."""
        text = _mutate(MISTAKES[0], MISTAKES[1])
        with pytest.raises(PlanError) as caught:
            load_plan(text, source="trust-plan.toml")
        error = caught.value
        assert error.code == "PSF600"
        assert isinstance(error, PsirfFlowError)
        assert "trust-plan.toml has 2 problem(s)" in str(error)
        assert "line 6, plan.organisation: expected text" in str(error)

    def test_unknown_key_suggests_the_close_one(self) -> None:
        """An unknown key close to a known one gets a "did you mean" hint."""
        text = BASE.replace("verbal_working_days", "verbal_workings_days")
        (problem,) = _problems(text)
        assert "did you mean 'verbal_working_days'" in problem.message

    def test_toml_syntax_error_has_its_line(self) -> None:
        """Text that is not TOML is reported once, with its line, column, setting and a fix."""
        text = BASE.replace('version = "1.0"', "version = ")
        (problem,) = _problems(text)
        assert problem.line == 5
        assert problem.path == "plan.version"
        assert problem.message == (
            "this is not valid TOML in plan.version, column 11: Invalid value; a value is "
            '"quoted text", a number, true or false (lower case), a date such as 2026-04-01, '
            "a [list] or an { inline table }"
        )
        assert str(problem).startswith("line 5, plan.version: ")

    def test_array_of_tables_headers_are_located(self) -> None:
        """Problems inside ``[[...]]`` blocks are placed on the block's own lines."""
        text = BASE.replace(
            'sign_off = [\n  { role = "senior_leader" },\n  { committee = "psg" },\n]\n',
            '[[response_types.aar.sign_off]]\nrole = "senior_leader"\n\n'
            '[[response_types.aar.sign_off]]\nrole = "boss"\n',
        )
        (problem,) = _problems(text)
        assert problem.path == "response_types.aar.sign_off[1].role"
        assert problem.line == _line_of(text, 'role = "boss"')

    def test_a_missing_file_is_a_plan_error(self, tmp_path: Path) -> None:
        """A file that cannot be read is reported as a plan error."""
        with pytest.raises(PlanError, match="cannot be read"):
            load_plan_file(tmp_path / "absent.toml")

    def test_a_file_that_is_not_utf8_is_a_plan_error(self, tmp_path: Path) -> None:
        """A file that is not UTF-8 is reported as a plan error."""
        path = tmp_path / "plan.toml"
        path.write_bytes(b"schema = 1\n\xff\xfe")
        with pytest.raises(PlanError, match="cannot be read"):
            load_plan_file(path)

    @pytest.mark.parametrize(
        ("replacement", "path"),
        [
            ("[[priorities]]\nid = 3\n", "priorities[2].id"),
            ('response_types = "none"\n', "response_types"),
            ("[calendar]\nclosure_days = [2026-12-29, 2026-12-29]\n", "calendar.closure_days"),
            ("[calendar]\nclosure_days = [2026-12-29T10:00:00]\n", "calendar.closure_days[0]"),
            ("[reserve_capacity]\nextra_psiis = -1\n", "reserve_capacity.extra_psiis"),
            (
                '[reserve_capacity]\nextra_psiis = 1\nresponse_type = "aar"\n',
                "reserve_capacity.response_type",
            ),
            ('[retention]\ndefault_class = "forever"\n', "retention.default_class"),
            ("[retention.classes.x]\nyears = 0\n", "retention.classes.x.years"),
            ('[triage]\nnational_psii_response = "aar"\n', "triage.national_psii_response"),
            ('[triage.emergent_risk]\nallowed = ["aar", "aar"]\n', "triage.emergent_risk.allowed"),
            ('[triage.emergent_risk]\ndefault = "nothing"\n', "triage.emergent_risk.default"),
            (
                '[[priorities]]\nid = "anything"\n'
                'responses = { allowed = ["aar"], default = "aar" }\n',
                "priorities[2]",
            ),
            (
                '[[priorities]]\nid = "pu"\ncriteria = { fact = "categories", includes = "pu" }\n'
                'improvement_plan = "pu-plan"\nresponses = { default = "aar" }\n',
                "priorities[2].responses.default",
            ),
            (
                '[[priorities]]\nid = "pu"\ncriteria = { fact = "categories", includes = "pu" }\n',
                "priorities[2].responses.default",
            ),
            (
                '[[priorities]]\nid = "pu"\ncriteria = { fact = "categories", includes = "pu" }\n'
                'responses = { allowed = ["psii"], default = "psii" }\n'
                'timescales = { aar = { amount = 1, unit = "weeks" }, '
                'psii = { amount = 9, unit = "months" } }\n',
                "priorities[2].timescales.psii",
            ),
            (
                '[[priorities]]\nid = "pu"\ncriteria = { fact = "categories", includes = "pu" }\n'
                'responses = { allowed = ["psii"], default = "psii" }\nthematic_review = "q"\n',
                "priorities[2].thematic_review",
            ),
            (
                '[[thematic_reviews]]\nid = "q"\nresponse_type = "aar"\n'
                'every = { amount = 0, unit = "months" }\nfirst_due = 2026-06-30\n',
                "thematic_reviews[0].response_type",
            ),
            (
                '[[thematic_reviews]]\nid = "q"\nresponse_type = "aar"\n'
                'every = { amount = 0, unit = "months" }\nfirst_due = 2026-06-30\n',
                "thematic_reviews[0].every.amount",
            ),
            ("[escalation_ladders.empty]\ntiers = []\n", "escalation_ladders.empty.tiers"),
            (
                "[escalation_ladders.quiet]\n"
                'tiers = [{ after = { amount = 1, unit = "hours" }, notify = [] }]\n',
                "escalation_ladders.quiet.tiers[0].notify",
            ),
            (
                "[duty_of_candour]\nwritten_working_days = 0\n",
                "duty_of_candour.written_working_days",
            ),
        ],
        ids=[
            "bad-priority-salvaged",
            "section-of-wrong-kind",
            "duplicate-closure-day",
            "date-and-time-not-date",
            "negative-reserve",
            "reserve-not-psii",
            "unknown-retention-default",
            "retention-years",
            "national-psii-not-psii",
            "duplicate-allowed",
            "unknown-default",
            "matches-everything",
            "improvement-plan-with-default",
            "no-default",
            "priority-timescale-over-cap",
            "unknown-thematic-review",
            "thematic-review-type",
            "thematic-every",
            "empty-ladder",
            "nobody-notified",
            "candour-days-range",
        ],
    )
    def test_more_mistakes(self, replacement: str, path: str) -> None:
        """Each further kind of mistake is reported at its path."""
        text = (
            BASE.replace("[duty_of_candour]\nverbal_working_days = 10\n", "") + "\n" + replacement
        )
        if replacement.startswith("[duty_of_candour]"):
            text = BASE.replace("[duty_of_candour]\nverbal_working_days = 10\n", replacement)
        if replacement.startswith("response_types"):
            text = (
                replacement
                + BASE.split("[response_types.psii]", maxsplit=1)[0].split("schema = 1\n")[1]
            )
        paths = {p.path for p in _problems(text)}
        assert path in paths, paths


# ---------------------------------------------------------------- hypothesis: round trip

CODES = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
TITLES = st.text(max_size=12)
DATES = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
ROLES = st.sampled_from(list(Role))
#: Roles a sign-off step may name (not reporters, overseers or psirf_flow itself, §5).
SIGNING_ROLES = st.sampled_from(
    [
        r
        for r in Role
        if r not in {Role.REPORTER, Role.PATIENT_SAFETY_PARTNER, Role.ICB_OVERSIGHT, Role.SYSTEM}
    ]
)
DECIDER_ROLES = st.sampled_from(
    [Role.PATIENT_SAFETY_SPECIALIST, Role.SENIOR_LEADER, Role.EXECUTIVE_LEAD]
)
SHORT_TIMESCALES = st.one_of(
    st.builds(Timescale, st.integers(1, 72), st.just(TimeUnit.HOURS)),
    st.builds(Timescale, st.integers(1, 30), st.just(TimeUnit.CALENDAR_DAYS)),
    st.builds(Timescale, st.integers(1, 40), st.just(TimeUnit.WORKING_DAYS)),
    st.builds(Timescale, st.integers(1, 8), st.just(TimeUnit.WEEKS)),
    st.builds(Timescale, st.integers(1, 3), st.just(TimeUnit.MONTHS)),
)
HARMS = ["none", "low", "moderate", "severe"]


def _leaf() -> st.SearchStrategy[Condition]:
    flags = st.sampled_from(["died", "child", "emergent_risk", "detained_under_mha"])
    return st.one_of(
        st.builds(FactTest, flags, st.just(Comparison.IS), st.booleans()),
        st.builds(FactTest, st.just("categories"), st.just(Comparison.INCLUDES), CODES),
        st.builds(
            FactTest,
            st.just("patient_groups"),
            st.just(Comparison.IN),
            st.lists(CODES, min_size=1, max_size=3).map(tuple),
        ),
        st.builds(FactTest, st.just("service_line"), st.just(Comparison.IS), CODES),
        st.builds(FactTest, st.just("setting"), st.just(Comparison.PRESENT), st.booleans()),
        st.builds(
            FactTest, st.just("physical_harm"), st.just(Comparison.AT_LEAST), st.sampled_from(HARMS)
        ),
        st.builds(
            FactTest,
            st.just("psychological_harm"),
            st.just(Comparison.IN),
            st.lists(st.sampled_from(HARMS), min_size=1, max_size=2).map(tuple),
        ),
        *_comparison_leaves(),
    )


def _comparison_leaves() -> list[st.SearchStrategy[Condition]]:
    """Comparisons of numbers, durations, times of day and dates (facts beyond codes)."""
    numbers = st.integers(0, 130) | st.floats(0, 45, allow_nan=False).map(lambda f: round(f, 1))
    ordered = st.sampled_from(
        [Comparison.AT_LEAST, Comparison.AT_MOST, Comparison.MORE_THAN, Comparison.LESS_THAN]
    )
    durations = st.builds(Duration, st.integers(0, 500), st.sampled_from(DurationUnit))
    times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
    return [
        st.builds(FactTest, st.sampled_from(["age_years", "wards_involved"]), ordered, numbers),
        st.builds(
            FactTest,
            st.just("gestation_weeks"),
            st.just(Comparison.BETWEEN),
            st.lists(numbers, min_size=2, max_size=2).map(lambda v: tuple(sorted(v))),
        ),
        st.builds(
            FactTest,
            st.just("time_since_admission"),
            st.sampled_from([Comparison.WITHIN, Comparison.MORE_THAN]),
            durations,
        ),
        st.builds(
            FactTest,
            st.just("time_of_day"),
            st.just(Comparison.BETWEEN),
            st.tuples(times, times),
        ),
        st.builds(
            FactTest,
            st.just("occurred_on"),
            st.sampled_from([Comparison.ON_OR_AFTER, Comparison.BEFORE]),
            DATES,
        ),
    ]


CONDITIONS: st.SearchStrategy[Condition] = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda c: AllOf(tuple(c))),
        st.lists(inner, min_size=1, max_size=3).map(lambda c: AnyOf(tuple(c))),
        inner.map(Not),
    ),
    max_leaves=6,
)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A random plan that is valid by construction."""
    start = draw(DATES)
    status = draw(st.sampled_from(list(PlanStatus)))
    approved = status is not PlanStatus.DRAFT
    icb = status in (PlanStatus.ICB_AGREED, PlanStatus.ICB_AGREED_PROVISIONALLY)
    board_on = draw(DATES) if approved else draw(st.none() | DATES)
    header = PlanHeader(
        id=draw(CODES),
        version=draw(st.from_regex(r"[0-9]{1,2}\.[0-9]", fullmatch=True)),
        organisation=draw(st.from_regex(r"R[A-Z0-9]{2}", fullmatch=True)),
        title=draw(TITLES),
        status=status,
        effective_from=start,
        effective_to=draw(st.none() | st.integers(1, 700).map(lambda d: start + timedelta(d))),
        review_date=start + timedelta(draw(st.integers(0, 700))),
        board_approved_on=board_on,
        icb_agreed_on=(
            board_on + timedelta(draw(st.integers(0, 60))) if icb and board_on else None
        ),
    )
    ladder_names = draw(st.lists(CODES, max_size=2, unique=True))
    ladders = {}
    for name in ladder_names:
        steps = draw(st.lists(st.integers(0, 30), min_size=1, max_size=3, unique=True))
        ladders[name] = EscalationLadder(
            tiers=tuple(
                EscalationTier(
                    after=Timescale(n, TimeUnit.WORKING_DAYS),
                    notify=tuple(draw(st.lists(ROLES, min_size=1, max_size=2, unique=True))),
                )
                for n in sorted(steps)
            )
        )
    committee_ids = draw(st.lists(CODES, min_size=1, max_size=3, unique=True))
    committees = {
        cid: Committee(title=draw(TITLES), kind=draw(st.sampled_from(list(CommitteeKind))))
        for cid in committee_ids
    }
    approvers = st.one_of(
        SIGNING_ROLES.map(lambda r: Approver(role=r)),
        st.sampled_from(committee_ids).map(lambda c: Approver(committee=c)),
    )
    deciders = st.one_of(
        DECIDER_ROLES.map(lambda r: Decider(role=r)),
        st.sampled_from(committee_ids).map(lambda c: Decider(committee=c)),
    )

    def response_type(variant: LifecycleVariant) -> ResponseType:
        cap = draw(st.none() | st.integers(4, 12).map(lambda m: Timescale(m, TimeUnit.MONTHS)))
        return ResponseType(
            maps_to=variant,
            title=draw(TITLES),
            timescale=draw(st.none() | SHORT_TIMESCALES),
            timescale_basis=draw(st.sampled_from(list(Basis))),
            hard_cap=cap,
            decided_by=draw(deciders),
            sign_off=tuple(draw(st.lists(approvers, min_size=1, max_size=3, unique=True))),
            escalation_ladder=draw(st.none() | st.sampled_from(ladder_names))
            if ladder_names
            else None,
        )

    types = {
        "psii": response_type(LifecycleVariant.PSII),
        "themes": response_type(LifecycleVariant.THEMATIC_REVIEW),
    }
    for name in draw(st.lists(CODES.filter(lambda c: c not in types), max_size=3, unique=True)):
        types[name] = response_type(draw(st.sampled_from(list(LifecycleVariant))))
    names = sorted(types)
    reviews = tuple(
        ScheduledReview(
            id=rid,
            title=draw(TITLES),
            response_type="themes",
            every=Timescale(draw(st.integers(1, 6)), TimeUnit.MONTHS),
            first_due=draw(DATES),
            criteria=draw(st.none() | CONDITIONS),
        )
        for rid in draw(st.lists(CODES, max_size=2, unique=True))
    )
    priorities = []
    for pid in draw(st.lists(CODES, max_size=3, unique=True)):
        allowed = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)))
        routed = draw(st.booleans())
        priorities.append(
            Priority(
                id=pid,
                title=draw(TITLES),
                basis=draw(st.sampled_from(list(Basis))),
                criteria=draw(CONDITIONS),
                scope=Scope(
                    service_lines=tuple(draw(st.lists(CODES, max_size=2))),
                    patient_groups=tuple(draw(st.lists(CODES, max_size=2))),
                ),
                responses=ResponseOptions(
                    allowed=allowed, default=None if routed else draw(st.sampled_from(allowed))
                ),
                timescales={a: draw(SHORT_TIMESCALES) for a in allowed[:1]},
                decided_by=draw(deciders),
                improvement_plan=draw(CODES) if routed else None,
                thematic_review=draw(st.sampled_from([r.id for r in reviews])) if reviews else None,
                no_further_response_allowed=draw(st.booleans()),
                departure_permitted=draw(st.booleans()),
            )
        )
    return Plan(
        plan=header,
        calendar=CalendarSettings(
            region=draw(st.sampled_from(list(Region))),
            closure_days=tuple(draw(st.lists(DATES, max_size=3, unique=True))),
        ),
        response_types=types,
        triage=TriageSettings(),
        priorities=tuple(priorities),
        thematic_reviews=reviews,
        reserve_capacity=ReserveCapacity(extra_psiis=draw(st.integers(0, 5))),
        duty_of_candour=CandourTargets(
            verbal_working_days=draw(st.integers(1, 20)),
            written_working_days=draw(st.integers(1, 20)),
            findings_working_days=draw(st.integers(1, 20)),
            basis=draw(st.sampled_from([Basis.LOCAL, Basis.CONTRACTUAL])),
            notify_no_or_low_harm=draw(st.booleans()),
            escalation_ladder=draw(st.none() | st.sampled_from(ladder_names))
            if ladder_names
            else None,
        ),
        escalation_ladders=ladders,
        facts=draw(DECLARED_FACTS),
        committees=committees,
    )


#: A plan's own fact declarations (``[facts.<name>]``).
DECLARED_FACTS = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(lambda n: n not in FACTS),
    st.builds(
        FactDeclaration,
        kind=st.sampled_from(sorted(DECLARABLE_KINDS, key=lambda k: k.value)),
        title=TITLES,
    ),
    max_size=3,
)


class TestRoundTrip:
    """A valid plan survives being written as TOML and read back."""

    # differing_executors: `make mutation` runs the suite many times in one process, and each
    # run imports this class afresh (the profiles in conftest.py cannot reach a test's own
    # settings).
    @settings(
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.differing_executors,
        ]
    )
    @given(plan=plans())
    def test_random_valid_plan_round_trips(self, plan: Plan) -> None:
        """load_plan(dump_plan(p)) == p for any valid plan."""
        assert plan_problems(plan) == []
        assert load_plan(dump_plan(plan)) == plan


# ---------------------------------------------------------------- hypothesis: fuzzing

JUNK = st.one_of(
    st.integers(),
    st.text(max_size=10),
    st.booleans(),
    st.floats(),
    st.dates(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.lists(
        st.dictionaries(st.sampled_from(["id", "role", "fact", "is"]), st.text(max_size=4)),
        max_size=2,
    ),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*path, index))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _load_or_plan_error(text: str) -> None:
    problems: tuple[PlanProblem, ...] = ()
    try:
        load_plan(text)
    except PlanError as error:
        problems = error.problems or (None,)  # type: ignore[assignment]
    assert all(isinstance(p, PlanProblem) for p in problems)


class TestFuzz:
    """Whatever the text, loading gives a plan or a PlanError, never another exception."""

    @given(text=st.text(max_size=300))
    def test_random_text(self, text: str) -> None:
        """Random text only ever raises PlanError."""
        _load_or_plan_error(text)

    @given(data=st.data())
    def test_random_toml_like_lines(self, data: st.DataObject) -> None:
        """Random lines built from TOML pieces only ever raise PlanError."""
        pieces = st.sampled_from(
            [
                "[plan]",
                "[[priorities]]",
                "[response_types.x]",
                "id = ",
                "= ",
                '"',
                "[",
                "]",
                "{",
                "}",
                "1",
                "true",
                "2026-01-01",
                "criteria",
                "all",
                "fact",
                ",",
                "\n",
                "# c",
                'maps_to = "psii"',
            ]
        )
        text = "".join(data.draw(st.lists(pieces, max_size=40)))
        _load_or_plan_error(text)

    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
    @given(data=st.data())
    def test_mutations_of_the_example(self, example_text: str, data: st.DataObject) -> None:
        """Deleting keys, junk values and unknown keys in the example only raise PlanError."""
        document = tomllib.loads(example_text)
        for _ in range(data.draw(st.integers(1, 4))):
            paths = _paths(document)
            path = data.draw(st.sampled_from(paths))
            parent = _parent(document, path)
            action = data.draw(st.sampled_from(["delete", "junk", "extra"]))
            if action == "delete":
                del parent[path[-1]]
            elif action == "junk":
                parent[path[-1]] = data.draw(JUNK)
            elif isinstance(parent, dict):
                parent[data.draw(st.text(min_size=1, max_size=6))] = data.draw(JUNK)
        _load_or_plan_error(tomli_w.dumps(document))

    @given(data=st.data())
    def test_line_edits_of_the_example(self, example_text: str, data: st.DataObject) -> None:
        """Dropping, repeating or cutting lines of the example only raises PlanError."""
        lines = example_text.splitlines()
        for _ in range(data.draw(st.integers(1, 3))):
            index = data.draw(st.integers(0, len(lines) - 1))
            action = data.draw(st.sampled_from(["drop", "repeat", "cut"]))
            if action == "drop":
                del lines[index]
            elif action == "repeat":
                lines.insert(index, lines[index])
            else:
                lines[index] = lines[index][: data.draw(st.integers(0, len(lines[index])))]
            assume(lines)
        _load_or_plan_error("\n".join(lines))
