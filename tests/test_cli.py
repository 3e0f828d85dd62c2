"""The minigrad command, run as a subprocess as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_CNN = str(ROOT / "models" / "seed_cnn.toml")


def minigrad(*args, env=None, cwd=None):
    run_env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_MNIST_DIR"}
    run_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "minigrad.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=run_env,
        cwd=cwd or ROOT,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help_lists_the_commands():
    result = minigrad("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "summary"):
        assert command in result.stdout
    train_help = minigrad("train", "--help").stdout
    for option in (
        "--model",
        "--dataset",
        "--data-dir",
        "--epochs",
        "--batch-size",
        "--lr",
        "--optimizer",
        "--seed",
        "--out",
        "--resume",
    ):
        assert option in train_help


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("minigrad")
    if not script.exists():
        pytest.skip("the minigrad console script is not installed in this environment")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("minigrad ")


def test_summary_of_a_spec():
    result = minigrad("summary", SEED_CNN)
    assert result.returncode == 0, result.stderr
    assert "Conv2d" in result.stdout and "(N, 8, 6, 6)" in result.stdout
    assert "total params: 2,970" in result.stdout
    wide = minigrad("summary", SEED_CNN, "--input-shape", "1,28,28")
    assert "(N, 5408)" in wide.stdout and "total params: 54,170" in wide.stdout


def test_train_then_evaluate_then_summary(tmp_path):
    out = tmp_path / "run"
    result = minigrad(
        "train",
        "--model",
        SEED_CNN,
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--limit",
        "300",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    for name in (
        "checkpoint.npz",
        "metrics.json",
        "metrics.csv",
        "curves.png",
        "filters.png",
        "confusion.png",
    ):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [1, 2]
    assert 0 <= metrics["test"]["accuracy"] <= 1
    assert np.array(metrics["confusion_matrix"]).sum() == metrics["config"]["test_samples"]
    assert (out / "metrics.csv").read_text().startswith("epoch,train_loss,train_accuracy,val_loss")

    evaluated = minigrad("evaluate", out / "checkpoint.npz", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["dataset"] == "digits"
    assert report["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    text = minigrad("evaluate", out / "checkpoint.npz")
    assert "accuracy" in text.stdout and "confusion matrix" in text.stdout

    summary = minigrad("summary", out / "checkpoint.npz")
    assert "total params: 2,970" in summary.stdout


def train_straight_and_resumed(tmp_path, common):
    """Two epochs in one run, and one epoch then a resumed second; both must succeed."""
    full = minigrad("train", *common, "--epochs", "2", "--out", tmp_path / "full")
    half = minigrad("train", *common, "--epochs", "1", "--out", tmp_path / "half")
    resumed = minigrad(
        "train",
        *common,
        "--epochs",
        "2",
        "--out",
        tmp_path / "resumed",
        "--resume",
        tmp_path / "half" / "checkpoint.npz",
    )
    for r in (full, half, resumed):
        assert r.returncode == 0, r.stderr


def test_resume_from_the_command_line_is_bit_exact(tmp_path):
    common = ["--model", SEED_CNN, "--limit", "120", "--no-plots", "--quiet", "--optimizer", "adam"]
    train_straight_and_resumed(tmp_path, common)
    with (
        np.load(tmp_path / "full" / "checkpoint.npz") as a,
        np.load(tmp_path / "resumed" / "checkpoint.npz") as b,
    ):
        for key in a.files:
            if key.startswith(("param:", "optim:")):
                assert np.array_equal(a[key], b[key]), key


@pytest.mark.parametrize(
    "spec_text, fragments",
    [
        (
            'name = "x"\ninput_shape = [1, 8, 8]\n[[layers]]\ntype = "Dense"\n',
            ["bad.toml: layer 0 (Dense): unknown layer type 'Dense'"],
        ),
        (
            'name = "x"\ninput_shape = [1, 8, 8]\n[[layers]]\ntype = "Conv2d"\nkernel_size = 3\n',
            ["layer 0 (Conv2d): missing argument 'out_channels'"],
        ),
        ("name = \n", ["not valid TOML"]),
    ],
)
def test_bad_specs_are_one_line_errors(tmp_path, spec_text, fragments):
    spec = tmp_path / "bad.toml"
    spec.write_text(spec_text)
    for args in (("train", "--model", spec, "--out", tmp_path / "o"), ("summary", spec)):
        assert_one_line_error(minigrad(*args), *fragments)


def test_other_errors_are_one_line(tmp_path):
    assert_one_line_error(minigrad("summary", tmp_path / "nope.toml"), "no such model spec file")
    assert_one_line_error(
        minigrad("train", "--model", SEED_CNN, "--dataset", "mnist", "--out", tmp_path / "o"),
        "--data-dir",
        "MINIGRAD_MNIST_DIR",
    )
    assert_one_line_error(
        minigrad("train", "--model", SEED_CNN, "--dataset", "mnist", "--data-dir", tmp_path),
        "no MNIST file",
    )
    assert_one_line_error(minigrad("evaluate", tmp_path / "none.npz"), "no such checkpoint file")
    assert_one_line_error(
        minigrad("train", "--model", SEED_CNN, "--optimizer", "adam", "--momentum", "0.9"),
        "--momentum applies to --optimizer sgd only",
    )
    assert_one_line_error(
        minigrad("train", "--model", SEED_CNN, "--lr", "-1", "--out", tmp_path / "o"),
        "SGD: lr must be a number >= 0",
    )
    lenet = str(ROOT / "models" / "lenet5.toml")
    assert_one_line_error(
        minigrad("train", "--model", lenet, "--out", tmp_path / "o"), "layer 3 (Conv2d)"
    )


def test_usage_errors_exit_2():
    result = minigrad("train", "--model", SEED_CNN, "--epochs", "0")
    assert result.returncode == 2 and "positive integer" in result.stderr
    assert minigrad().returncode == 2


@pytest.mark.mnist
def test_evaluate_on_mnist(tmp_path):
    folder = os.environ.get("MINIGRAD_MNIST_DIR")
    if not folder:
        pytest.skip("set MINIGRAD_MNIST_DIR to the folder of the MNIST files")
    out = tmp_path / "m"
    result = minigrad(
        "train",
        "--model",
        SEED_CNN,
        "--dataset",
        "mnist",
        "--limit",
        "2000",
        "--no-plots",
        "--quiet",
        "--out",
        out,
        env={"MINIGRAD_MNIST_DIR": folder},
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["test_samples"] == 10000 and metrics["test"]["accuracy"] > 0.8


def train_briefly(model, out, cwd=None):
    args = ["--epochs", "1", "--limit", "50", "--quiet", "--no-plots", "--out", out]
    run = minigrad("train", "--model", model, *args, cwd=cwd)
    assert run.returncode == 0, run.stderr


def test_a_bundled_spec_by_name_from_any_folder(tmp_path):
    """train, summary, graph and export take a bare name from anywhere, as from the wheel."""
    summary = minigrad("summary", "seed_cnn", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout == minigrad("summary", SEED_CNN).stdout
    assert "total params: 2,970" in summary.stdout
    train_briefly("mlp", tmp_path / "run", cwd=tmp_path)
    assert (tmp_path / "run" / "checkpoint.npz").is_file()
    graph = minigrad("graph", "lenet5", "-o", tmp_path / "g.dot", cwd=tmp_path)
    assert graph.returncode == 0, graph.stderr
    assert_one_line_error(
        minigrad("summary", "seed-cnn", cwd=tmp_path),
        "seed-cnn: no such model spec file, and minigrad ships no spec of that name",
        "seed_cnn",
    )


def test_export_writes_onnx_and_safetensors(tmp_path):
    train_briefly("seed_cnn", tmp_path)
    onnx_run = minigrad("export", tmp_path / "checkpoint.npz", "-o", tmp_path / "m.onnx")
    assert onnx_run.returncode == 0, onnx_run.stderr
    assert onnx_run.stdout.splitlines() == [
        f"wrote {tmp_path / 'm.onnx'}: seed_cnn as ONNX (opset 17), input (batch, 1, 8, 8) -> "
        "output (batch, 10), 2,970 parameters",
        "tensors: 0.weight, 0.bias, 3.weight, 3.bias",
    ]
    st_run = minigrad("export", tmp_path / "checkpoint.npz", "-o", tmp_path / "m.safetensors")
    assert st_run.returncode == 0, st_run.stderr
    assert (tmp_path / "m.onnx").stat().st_size > 4 * 2970
    assert (tmp_path / "m.safetensors").stat().st_size > 4 * 2970
    spec_run = minigrad("export", "lenet5", "-o", tmp_path / "l.onnx", "--input-shape", "1,32,32")
    assert spec_run.returncode == 0, spec_run.stderr
    assert "input (batch, 1, 32, 32)" in spec_run.stdout
    assert "note: a spec holds no trained weights: these are initialised from seed 0" in (
        spec_run.stdout
    )
    assert_one_line_error(
        minigrad("export", "seed_cnn", "-o", tmp_path / "m.pt"),
        "minigrad export: error: export:",
        "must end in .onnx or .safetensors",
    )
    assert not (tmp_path / "m.pt").exists()
    assert minigrad("export", "seed_cnn").returncode == 2  # -o is required


def test_train_checks_before_the_first_step(tmp_path):
    """Each of these trained (or crashed after training) before; now each is one line, exit 1."""
    out = tmp_path / "o"
    assert_one_line_error(
        minigrad("train", "--model", SEED_CNN, "--val-fraction", "0.999", "--out", out),
        "leaves no training samples",
    )
    wide = tmp_path / "wide.toml"
    wide.write_text(Path(SEED_CNN).read_text().replace("out_features = 10", "out_features = 12"))
    assert_one_line_error(
        minigrad("train", "--model", wide, "--limit", "1", "--out", out),
        "wide.toml: the model outputs 12 class scores, but digits has 10 classes",
    )
    assert not out.exists()
    mlp = str(ROOT / "models" / "mlp.toml")
    first = minigrad(
        "train",
        "--model",
        mlp,
        "--epochs",
        "1",
        "--limit",
        "30",
        "--no-plots",
        "--quiet",
        "--out",
        tmp_path / "mlp",
    )
    assert first.returncode == 0, first.stderr
    assert_one_line_error(
        minigrad(
            "train",
            "--model",
            SEED_CNN,
            "--epochs",
            "2",
            "--out",
            out,
            "--resume",
            tmp_path / "mlp" / "checkpoint.npz",
        ),
        "cannot resume: the checkpoint holds model 'mlp'",
    )


def test_train_a_float64_spec(tmp_path):
    spec = tmp_path / "f64.toml"
    spec.write_text(
        Path(SEED_CNN).read_text().replace('name = "seed_cnn"', 'name = "f64"\ndtype = "float64"')
    )
    result = minigrad(
        "train",
        "--model",
        spec,
        "--epochs",
        "1",
        "--limit",
        "50",
        "--no-plots",
        "--quiet",
        "--out",
        tmp_path / "o",
    )
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "o" / "checkpoint.npz") as ckpt:
        assert ckpt["param:0.weight"].dtype == np.float64
    evaluated = minigrad("evaluate", tmp_path / "o" / "checkpoint.npz", "--json")
    assert evaluated.returncode == 0, evaluated.stderr


def test_a_spec_name_never_writes_outside_the_output_folder(tmp_path):
    """The name is a label; it becomes the default folder runs/<name> only when it is a safe
    file name, so '../../escaped' cannot make train write anywhere else."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    spec = work / "escape.toml"
    spec.write_text(
        Path(SEED_CNN).read_text().replace('name = "seed_cnn"', 'name = "../../escaped"')
    )
    args = ("train", "--model", spec, "--epochs", "1", "--limit", "20", "--no-plots", "--quiet")
    result = minigrad(*args, cwd=work)
    assert_one_line_error(result, "'../../escaped' cannot be used as a folder name")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "escape.toml"]
    chosen = minigrad(*args, "--out", work / "run", cwd=work)
    assert chosen.returncode == 0, chosen.stderr
    assert (work / "run" / "checkpoint.npz").is_file()
    assert not (tmp_path / "escaped").exists()


def test_summary_of_a_huge_spec_allocates_no_weights(tmp_path):
    """Shape inference alone: 4 billion parameters are counted, not built."""
    spec = tmp_path / "huge.toml"
    spec.write_text(
        'name = "huge"\ninput_shape = [1, 32768, 32768]\n'
        '[[layers]]\ntype = "Flatten"\n[[layers]]\ntype = "Linear"\nout_features = 3\n'
    )
    result = minigrad("summary", spec)
    assert result.returncode == 0, result.stderr
    assert "total params: 3,221,225,475" in result.stdout


RESNET_MINI = str(ROOT / "models" / "resnet_mini.toml")


def test_a_graph_model_trains_resumes_and_draws_from_the_command_line(tmp_path):
    common = ["--model", RESNET_MINI, "--limit", "64", "--batch-size", "16", "--no-plots"]
    common += ["--quiet", "--optimizer", "adam", "--val-fraction", "0"]
    train_straight_and_resumed(tmp_path, common)
    with (
        np.load(tmp_path / "full" / "checkpoint.npz") as a,
        np.load(tmp_path / "resumed" / "checkpoint.npz") as b,
    ):
        assert "buffer:stage1.0.bn1.running_mean" in a.files
        for key in a.files:
            if key.startswith(("param:", "buffer:", "optim:")):
                assert np.array_equal(a[key], b[key]), key

    summary = minigrad("summary", tmp_path / "full" / "checkpoint.npz")
    assert summary.returncode == 0, summary.stderr
    assert "stage1.0.add    Add" in summary.stdout and "stem_relu, stage1.0.bn2" in summary.stdout
    assert "buffers: 231" in summary.stdout

    out = tmp_path / "back.dot"
    drawn = minigrad("graph", RESNET_MINI, "-o", out, "--view", "backward", "--depth", "3")
    assert drawn.returncode == 0, drawn.stderr
    dot = out.read_text()
    assert dot.count('label="+"') == 3  # one sum per skip connection


def test_mnist_bn_spec_builds_and_summarises():
    result = minigrad("summary", ROOT / "models" / "mnist_bn.toml")
    assert result.returncode == 0, result.stderr
    assert "total params: 421,994" in result.stdout and "buffers: 451" in result.stdout
