import json

from govlib import history, workbook


def test_trend_has_a_point_per_run_and_the_chart_uses_it(tmp_path):
    for i, score in enumerate((97.5, 98.25)):
        history.append(
            tmp_path, f"run{i}", {"exit_code": 1},
            [{"dataset": "customers", "overall": score}, {"dataset": "orders", "overall": None}],
        )  # fmt: skip
    assert history.trend(tmp_path / history.DB_NAME) == [
        {"run": "run0", "dataset": "customers", "overall": 97.5},
        {"run": "run1", "dataset": "customers", "overall": 98.25},
    ]
    chart = workbook.trend(str(tmp_path / history.DB_NAME))
    spec = chart.to_dict()
    assert [v["overall"] for v in spec["data"]["values"]] == [97.5, 98.25]
    assert "Markdown" in type(workbook.trend(str(tmp_path / "none.sqlite"))).__name__


def test_chain_detects_an_entry_appended_behind_its_back(tmp_path):
    history.append(tmp_path, "run0", {"exit_code": 0}, [{"dataset": "orders", "overall": 99.0}])
    assert history.verify(tmp_path).ok
    head = json.loads((tmp_path / history.HEAD_NAME).read_text())
    (tmp_path / history.HEAD_NAME).write_text(json.dumps({**head, "entries": 1}))
    assert not history.verify(tmp_path).ok
