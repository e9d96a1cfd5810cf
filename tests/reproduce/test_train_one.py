"""Train one architecture from the command line: one run record per seed, proxy labelled."""
import json

import pytest

from nar_utils.reproduce import train_one
from nar_utils.spaces import nb201


def test_arch_arguments_resolve_to_arch_strings(monkeypatch):
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    arch, index = train_one.resolve_arch("resnet")
    assert index is None and nb201.parse_arch_str(arch) == (3, 0, 3, 1, 0, 1)
    assert train_one.resolve_arch("333133")[0] == nb201.arch_str_from_op_code("333133")
    arch, index = train_one.resolve_arch("17")  # the embedded source: space index order
    assert index == 17 and arch == nb201.format_arch_str(nb201.ops_from_space_index(17))
    with pytest.raises(ValueError, match="out of range"):
        train_one.resolve_arch("99999")
    with pytest.raises(ValueError, match="unknown operation 'conv_5x5'"):
        train_one.resolve_arch("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_the_command_trains_on_the_proxy_and_writes_one_record_per_seed(tmp_path,
                                                                         monkeypatch, capsys):
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    argv = ["resnet", "--proxy", "--seeds", "1", "2", "--channels", "4", "--cells", "1",
            "--epochs", "1", "--out", str(tmp_path), "--device", "cpu"]
    assert train_one.main(argv) == 0
    paths = sorted(tmp_path.glob("*/train_one.json"))
    assert [p.parent.name for p in paths] == ["303101-seed1", "303101-seed2"]
    record = json.loads(paths[0].read_text())
    metrics = record["metrics"]
    assert metrics["is_proxy"] and metrics["images"] == "proxy-digits"
    assert "no data directory" in metrics["proxy_reason"]
    assert len(metrics["curve"]) == 1 and metrics["params"] > 0 and metrics["flops"] > 0
    assert record["parameters"]["seed"] == 1 and record["parameters"]["hp"] == "12"
    assert "(proxy)" in capsys.readouterr().out
    # started again: the finished checkpoint is reused, nothing is trained twice
    assert train_one.main(argv[:3] + ["1"] + argv[5:]) == 0
    again = json.loads(paths[0].read_text())["metrics"]
    assert again["resumed_from_epoch"] == 1 and again["curve"] == metrics["curve"]


def test_the_command_refuses_missing_images_without_proxy(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    assert train_one.main(["resnet", "--out", str(tmp_path), "--epochs", "1"]) == 2
    assert "data directory" in capsys.readouterr().err
    assert train_one.main(["|bad|", "--proxy", "--out", str(tmp_path)]) == 2
