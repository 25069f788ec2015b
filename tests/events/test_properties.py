"""Property tests: the store behaves like a plain model of streams under any sequence of appends."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.errors import WrongExpectedVersion
from events.store import ANY, Context, EventStore, StreamAppend
from tests.events.model import Counted, fresh

# One step: (streams touched, each with an expected-version choice and an event count).
step = st.lists(
    st.tuples(
        st.integers(0, 2),  # which stream
        st.sampled_from(["exact", "stale", "any", "no_stream"]),
        st.integers(1, 3),  # events
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=1, max_size=12))
async def test_appends_match_the_model(store: EventStore, ctx: Context, steps: list) -> None:
    names = [fresh(), fresh(), fresh("cohort")]
    model: dict[str, list[int]] = {name: [] for name in names}
    counter = 0
    for touched in steps:
        appends, conflict = [], False
        for index, choice, count in touched:
            name, version = names[index], len(model[names[index]])
            expected = {
                "exact": version,
                "stale": version + 1,
                "any": ANY,
                "no_stream": 0,
            }[choice]
            conflict |= expected not in (ANY, version)
            events = [Counted(n=counter + i) for i in range(count)]
            counter += count
            appends.append(StreamAppend(name, events, expected))
        try:
            results = await store.append_many(appends, context=ctx)
        except WrongExpectedVersion:
            assert conflict
            continue
        assert not conflict
        positions = [r.first_position for r in results]
        assert positions == sorted(positions)
        for item, result in zip(appends, results, strict=True):
            model[item.stream_id] += [e.n for e in item.events]  # type: ignore[attr-defined]
            assert result.stream_version == len(model[item.stream_id])

    for name, values in model.items():
        stored = await store.read_stream(name)
        assert [e.data.n for e in stored] == values  # type: ignore[attr-defined]
        assert [e.stream_version for e in stored] == list(range(1, len(values) + 1))
        assert [e.position for e in stored] == sorted({e.position for e in stored})
        assert (await store.verify(name)).ok
