from graph_model.contract_doc import DOC_PATH, render
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary


def test_graph_contract_doc_is_up_to_date() -> None:
    expected = render(get_schema(), get_vocabulary())
    assert DOC_PATH.read_text(encoding="utf-8") == expected, (
        "docs/graph-contract.md is stale: run `python -m graph_model.contract_doc`")
