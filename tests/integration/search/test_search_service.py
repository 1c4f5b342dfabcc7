"""Search service: what it finds, how it ranks and pages, and that it never leaks projects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from audit import AuditEvent
from lims.errors import UserError
from lims.models import User
from lims.services import analyses, changes, tags
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget
from lims.services.search import SearchFilters, SearchRequest, request_from_params, search
from tests.integration.search.conftest import Catalogue, ingest


def _titles(ctx: ServiceContext, text: str = "", **params: list[str]) -> list[str]:
    request = request_from_params({"q": [text], **params})
    return [hit.title for hit in search(ctx, request).hits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("femur", "femur raw scan"),  # dataset name
        ("FEM-012", "femur raw scan"),  # sample code
        ("Versa", "femur raw scan"),  # metadata value
        ("condyle", "femur raw scan"),  # note
        ("slice_0002", "femur raw scan"),  # file name
        ("LiPF6", "cell 7 cycle 100"),  # metadata value
        ("reference", "tibia overview"),  # tag
        ("Pierre", "tibia overview"),  # operator
        ("Battery ageing", "cell 7 cycle 100"),  # project name
        ("femr", "femur raw scan"),  # typo, by trigram
        ("M-01", "femur raw scan"),  # partial identifier
    ],
    ids=[
        "name",
        "sample-code",
        "metadata",
        "note",
        "file",
        "metadata-2",
        "tag",
        "operator",
        "project",
        "typo",
        "partial",
    ],
)
def test_search_finds_every_kind_of_text(
    ctx: ServiceContext, data: Catalogue, text: str, expected: str
) -> None:
    assert expected in _titles(ctx, text, kind=["dataset"])


def test_results_are_ranked_and_highlighted(ctx: ServiceContext, data: Catalogue) -> None:
    page = search(ctx, request_from_params({"q": ["condyle"]}))
    assert page.hits[0].title == "femur raw scan"
    assert page.hits[0].rank is not None
    assert page.hits[0].rank > 0
    marked = [part.text for part in page.hits[0].snippet if part.is_match]
    assert marked == ["condyle"]
    assert "Crack visible" in page.hits[0].snippet_text


def test_filters_and_facets(ctx: ServiceContext, data: Catalogue) -> None:
    page = search(ctx, request_from_params({"kind": ["dataset"]}))
    assert page.total == 3
    assert {f.label: f.count for f in page.facets["modality"]} == {"CT volume": 2, "2D mosaic": 1}
    assert {f.label: f.count for f in page.facets["project"]} == {
        "Bone study": 2,
        "Battery ageing": 1,
    }
    assert {f.label for f in page.facets["tag"]} == {"reference"}
    assert _titles(ctx, kind=["dataset"], instrument=["Zeiss Versa 620"], sort=["name"]) == [
        "cell 7 cycle 100",
        "femur raw scan",
    ]
    assert _titles(ctx, kind=["dataset"], operator=["Pierre Curie"]) == ["tibia overview"]
    assert _titles(ctx, kind=["dataset"], tag=["reference"]) == ["tibia overview"]
    assert _titles(ctx, kind=["dataset"], project=[str(data.battery)]) == ["cell 7 cycle 100"]
    assert _titles(ctx, kind=["dataset"], sample=[str(data.femur)]) == ["femur raw scan"]
    assert _titles(ctx, kind=["dataset"], **{"from": ["2025-01-01"], "to": ["2025-03-02"]}) == [
        "femur raw scan"
    ]
    assert _titles(ctx, kind=["dataset"], modality=["no such modality"]) == []


def test_keyset_pages_cover_everything_once(ctx: ServiceContext, data: Catalogue) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = search(ctx, SearchRequest(sort="name", cursor=cursor, limit=2))
        seen += [hit.title for hit in page.hits]
        cursor = page.next_cursor
        if cursor is None:
            break
    everything = search(ctx, SearchRequest(sort="name", limit=100))
    assert seen == [hit.title for hit in everything.hits]
    assert len(seen) == len(set(seen)) == everything.total


def test_relevance_pages_continue_after_the_cursor(ctx: ServiceContext, data: Catalogue) -> None:
    first = search(ctx, SearchRequest(text="curie", limit=1))
    assert first.next_cursor is not None
    second = search(ctx, SearchRequest(text="curie", limit=1, cursor=first.next_cursor))
    assert second.hits
    assert second.hits[0].id != first.hits[0].id


def test_index_follows_changes_in_the_same_transaction(
    ctx: ServiceContext, data: Catalogue
) -> None:
    dataset = data.datasets["cell_ct"]
    tag = tags.add_tag(ctx, dataset, "qa-hold")
    assert _titles(ctx, "qa-hold") == ["cell 7 cycle 100"]
    assert _titles(ctx, tag=["qa-hold"]) == ["cell 7 cycle 100"]
    tags.remove_tag(ctx, tag.id, reason="wrong dataset")
    assert _titles(ctx, "qa-hold") == []
    assert _titles(ctx, tag=["qa-hold"]) == []
    changes.amend_metadata(ctx, dataset, {"operator": "Irène Joliot-Curie"}, reason="fix")
    assert _titles(ctx, "Irène", kind=["dataset"]) == ["cell 7 cycle 100"]
    changes.update_sample(ctx, data.cell, name="Cell 8", reason="relabelled")
    assert "cell 7 cycle 100" in _titles(ctx, "Cell 8", kind=["dataset"])
    changes.retire(ctx, "dataset", dataset, reason="duplicate")
    assert _titles(ctx, "Irène", kind=["dataset"]) == []
    assert _titles(ctx, "Irène", kind=["dataset"], retired=["1"]) == ["cell 7 cycle 100"]


@pytest.mark.req("P11-06")
def test_never_another_projects_data(outsider: ServiceContext, data: Catalogue) -> None:
    page = search(outsider, SearchRequest(limit=100))
    assert {hit.project_id for hit in page.hits} == {data.battery}
    assert _titles(outsider, "femur") == []
    assert _titles(outsider, "Versa", kind=["dataset"]) == ["cell 7 cycle 100"]
    assert {f.label for f in page.facets["project"]} == {"Battery ageing"}
    leaked = search(outsider, SearchRequest(filters=SearchFilters(project_ids=(data.bone,))))
    assert leaked.hits == ()
    assert leaked.total == 0


@pytest.mark.req("DI-10")
def test_inspector_sees_every_project_and_what_they_view_is_audited(
    auditor: ServiceContext, ctx: ServiceContext, data: Catalogue
) -> None:
    page = search(auditor, SearchRequest(text="femur", filters=SearchFilters(kinds=("dataset",))))
    assert [hit.title for hit in page.hits] == ["femur raw scan"]
    event = auditor.uow.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "search.view")
    ).one()
    changes = json.loads(event.changes)
    assert changes["text"] == "femur"
    assert changes["filters"] == {"kinds": ["dataset"]}
    assert changes["results"] == [str(page.hits[0].id)]
    assert event.actor_id == auditor.require_identity().user_id
    search(ctx, SearchRequest(text="femur"))  # a microscopist's search is not an inspection
    assert (
        len(
            auditor.uow.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "search.view")
            ).all()
        )
        == 1
    )


@pytest.mark.parametrize(
    "text",
    [
        '"unbalanced',
        "' OR 1=1 --",
        "femur'); DROP TABLE datasets; --",
        "a & b | !c <-> d:* ()",
        "\\\\ % _ * ?",
        "\x00\x01 femur",
        "骨 обра́зец ελληνικά عظم",  # noqa: RUF001 - other alphabets on purpose
        "-",
        '""',
        "   ",
    ],
    ids=[
        "quote",
        "sql-or",
        "sql-drop",
        "operators",
        "wildcards",
        "nul",
        "alphabets",
        "dash",
        "empty-phrase",
        "blank",
    ],
)
def test_odd_text_gives_sensible_results(ctx: ServiceContext, data: Catalogue, text: str) -> None:
    page = search(ctx, request_from_params({"q": [text]}))
    assert page.total is not None
    assert len(_titles(ctx, "femur")) >= 1


def test_other_alphabets_are_found(ctx: ServiceContext, data: Catalogue) -> None:
    changes.add_note(
        ctx, "dataset", data.datasets["tibia_raw"], "Образец повреждён при транспортировке"
    )
    assert _titles(ctx, "повреждён", kind=["dataset"]) == ["tibia overview"]
    assert _titles(ctx, "образец", kind=["dataset"]) == ["tibia overview"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ["x" * 501]}, "at most 500"),
        ({"project": ["not-a-uuid"]}, "record ids"),
        ({"from": ["2025-13-45"]}, "YYYY-MM-DD"),
        ({"from": ["2025-02-01"], "to": ["2025-01-01"]}, "ends before"),
        ({"sort": ["random()"]}, "must be one of"),
        ({"kind": ["users"]}, "must be among"),
        ({"limit": ["100000"]}, "must be one of"),
        ({"limit": ["-1"]}, "must be one of"),
        ({"modality": ["x" * 201]}, "too long"),
        ({"tag": [str(i) for i in range(30)]}, "at most 20"),
        ({"signature": ["forged"]}, "must be among"),
        ({"review": ["maybe"]}, "must be among"),
    ],
    ids=[
        "long-text",
        "bad-id",
        "bad-date",
        "range",
        "sort",
        "kind",
        "limit",
        "negative",
        "long-value",
        "many-values",
        "signature",
        "review",
    ],
)
def test_bad_parameters_are_refused_clearly(params: dict[str, list[str]], message: str) -> None:
    with pytest.raises(UserError, match=message):
        request_from_params(params)


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "e30.0000", "WyJuYW1lIiwieCIsIjEiXQ.abcdef0123456789", "....", "é.é"],
    ids=["garbage", "bad-check", "forged", "dots", "unicode"],
)
def test_tampered_cursor_is_refused(ctx: ServiceContext, data: Catalogue, cursor: str) -> None:
    with pytest.raises(UserError, match="cursor is not valid"):
        search(ctx, SearchRequest(sort="name", cursor=cursor))


def test_cursor_of_another_sort_is_refused(ctx: ServiceContext, data: Catalogue) -> None:
    page = search(ctx, SearchRequest(sort="name", limit=1))
    assert page.next_cursor is not None
    with pytest.raises(UserError, match="cursor is not valid"):
        search(ctx, SearchRequest(sort="size", cursor=page.next_cursor))


def test_relevance_without_text_is_refused(ctx: ServiceContext) -> None:
    with pytest.raises(UserError, match="needs search text"):
        search(ctx, SearchRequest(sort="relevance"))


def test_broad_searches_count_up_to_the_cap(
    ctx: ServiceContext, data: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lims.services import search as search_module

    monkeypatch.setattr(search_module, "MATCH_CAP", 2)
    page = search(ctx, SearchRequest(filters=SearchFilters(kinds=("dataset",))))
    assert page.total == 2
    assert page.total_is_capped
    ranked = search(ctx, SearchRequest(text="curie", limit=10))
    assert len(ranked.hits) == 3  # ranking reads the first MATCH_CAP + 1 matches
    narrow = search(ctx, SearchRequest(text="condyle"))
    assert narrow.total == 1
    assert not narrow.total_is_capped


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=120), sort=st.sampled_from(["", "name", "newest", "size"]))
def test_any_text_gives_results_or_a_clear_refusal(
    ctx: ServiceContext, data: Catalogue, text: str, sort: str
) -> None:
    try:
        request = request_from_params({"q": [text], "sort": [sort]})
    except UserError:
        return
    page = search(ctx, request)
    assert page.total is not None
    assert all(hit.project_id in {data.bone, data.battery} for hit in page.hits)


def test_typos_are_corrected_against_indexed_words(ctx: ServiceContext, data: Catalogue) -> None:
    page = search(ctx, request_from_params({"q": ["femr scn"], "kind": ["dataset"]}))
    assert page.corrected_text == "femur scan"
    assert [hit.title for hit in page.hits] == ["femur raw scan"]
    exact = search(ctx, request_from_params({"q": ["femur"]}))
    assert exact.corrected_text is None
    nothing = search(ctx, request_from_params({"q": ["qqqqzzzz"]}))
    assert nothing.corrected_text is None
    assert nothing.hits == ()


def test_documents_follow_a_renamed_user(
    ctx: ServiceContext, data: Catalogue, tmp_path: Path
) -> None:
    unsigned = ingest(
        ctx,
        tmp_path,
        IngestTarget("Battery ageing", "Cell 7", "cell 7 cycle 200"),
        {"cell7_cycle200.nrrd": b"f"},
        {"modality": "CT volume"},  # no operator: the author stands in
    )
    analyses.create_analysis(
        ctx,
        project_id=data.battery,
        title="Porosity after 200 cycles",
        purpose="p",
        results="r",
        conclusions="c",
    )
    ctx.uow.commit()
    assert "cell 7 cycle 200" in _titles(ctx, operator=["Marie Curie"])
    user = ctx.uow.session.get(User, ctx.require_identity().user_id)
    assert user is not None
    user.display_name = "Marie Skłodowska-Curie"  # as a directory rename does at login
    ctx.uow.session.flush()
    # Every dataset she ingested is found under her new name (the author is searchable).
    assert len(_titles(ctx, "Skłodowska", kind=["dataset"])) == len(data.datasets) + 1
    assert sorted(_titles(ctx, operator=["Marie Skłodowska-Curie"])) == [
        "Porosity after 200 cycles",
        "cell 7 cycle 200",
    ]
    # The other datasets name their operator in their metadata: that stays as it was.
    assert sorted(_titles(ctx, operator=["Marie Curie"])) == ["cell 7 cycle 100", "femur raw scan"]
    assert unsigned not in data.datasets.values()
