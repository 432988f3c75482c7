"""``labelaudit init/import/info`` through the installed command: the recorded source, Ctrl-C,
option checks, JSON output, attaching a team member's folder, re-pointing the image root."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import assert_one_error_line, cli_executable, make_tree, run_cli, write_image


def test_plain_import_keeps_the_manifest_and_classes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"x": 3})
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\nx/0000.png,cat\nx/0001.png,dog\nx/0002.png,owl\n")
    init = ("init", tmp_path / "p", "--images", root, "--manifest", manifest)
    run_cli(*init, "--classes", "cat,dog", check=True)
    write_image(root / "x" / "unlisted.png", seed=99)
    again = run_cli("import", tmp_path / "p", "--json", check=True)
    report = json.loads(again.stdout)
    assert report["total"] == 3 and report["new"] == 0
    assert report["problems"] == {"unknown_label": 1}
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert {k: v["ok"] for k, v in info["classes"].items() if v["ok"]} == {"cat": 1, "dog": 1}
    manifest.rename(tmp_path / "moved.csv")
    assert_one_error_line(run_cli("import", tmp_path / "p"), contains="no longer exists")
    both = run_cli("import", tmp_path / "p", "--folder", "--manifest", tmp_path / "moved.csv")
    assert_one_error_line(both, contains="not both")
    switched = run_cli("import", tmp_path / "p", "--folder", "--classes", "", check=True)
    assert "1 new" in switched.stdout and "3 given label changed" in switched.stdout
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert {k: v["ok"] for k, v in info["classes"].items() if v["ok"]} == {"x": 4}


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_during_a_parallel_import_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "images"
    source = write_image(tmp_path / "one.png", size=(600, 600))
    for i in range(1200):  # hard links: many slow decodes without writing many files
        (root / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        os.link(source, root / f"c{i % 2}" / f"{i:05d}.png")
    env = {k: v for k, v in os.environ.items() if k != "LABELAUDIT_DB"}
    proc = subprocess.Popen(
        [cli_executable(), "init", str(tmp_path / "p"), "--images", str(root), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    # A thumbnail on disk means the workers are decoding: the pool is up and running.
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if len(_children(proc.pid)) >= 2 and any((tmp_path / "p" / "thumbs").rglob("*.*")):
            break
        time.sleep(0.02)
    else:
        proc.kill()
        proc.communicate()
        pytest.skip("the worker pool was never seen decoding; cannot time the interrupt")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole group gets SIGINT
    _out, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the import finished before the interrupt arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert [line for line in err.splitlines() if line.strip()] == [
        "labelaudit: interrupted; the project is unchanged by the unfinished step"
    ], err
    assert not (tmp_path / "p").exists()


def test_pixel_limit_and_worker_options(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    write_image(root / "a" / "small.png", size=(20, 20), seed=7)
    for option, value in (("--workers", "-1"), ("--workers", "0"), ("--max-pixels", "-5")):
        bad = run_cli("init", tmp_path / "p", "--images", root, option, value)
        assert_one_error_line(bad, contains=option)
        assert not (tmp_path / "p").exists()
    strict = run_cli("init", tmp_path / "p", "--images", root, "--max-pixels", "100", "--strict")
    assert strict.returncode == 1 and "too_large: 3" in strict.stdout
    relaxed = run_cli("import", tmp_path / "p", "--max-pixels", "0", "--rehash", "--json")
    assert json.loads(relaxed.stdout)["problems"] == {}
    assert_one_error_line(
        run_cli("import", tmp_path / "p", "--workers", "-3"), contains="--workers"
    )


def test_init_json_is_json_only(tmp_path: Path, tiny_tree: Path) -> None:
    proc = run_cli("init", tmp_path / "p", "--images", tiny_tree, "--json", check=True)
    report = json.loads(proc.stdout)
    assert report["new"] == 15 and report["project"] == str(tmp_path / "p")


def test_info_lists_duplicate_groups_and_missing_paths(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"cat": 12, "dog": 1})
    shutil.copy(root / "cat" / "0000.png", root / "dog" / "copy.png")  # conflicting labels
    shutil.copy(root / "cat" / "0001.png", root / "cat" / "same.png")  # agreeing labels
    run_cli("init", tmp_path / "p", "--images", root, check=True)
    gone = [f"cat/{i:04d}.png" for i in range(2, 12)] + ["dog/0000.png"]
    for rel in gone:
        (root / rel).unlink()
    run_cli("import", tmp_path / "p", check=True)
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert info["missing_paths"] == gone
    assert [(g["paths"], g["labels"], g["labels_conflict"]) for g in info["duplicate_groups"]] == [
        (["cat/0000.png", "dog/copy.png"], ["cat", "dog"], True),
        (["cat/0001.png", "cat/same.png"], ["cat", "cat"], False),
    ]
    text = run_cli("info", tmp_path / "p", check=True).stdout
    assert "1 with conflicting labels" in text
    assert "cat/0000.png (cat) = dog/copy.png (dog)  CONFLICT" in text
    assert "missing     11 files" in text and "cat/0011.png" in text
    assert "dog/0000.png" not in text and "... and 1 more" in text  # the first 10 are listed


def test_team_member_attaches_a_new_folder_with_its_own_image_root(
    tmp_path: Path, tiny_tree: Path, pg_url: str
) -> None:
    empty = run_cli("info", tmp_path / "early", "--db", pg_url)
    assert_one_error_line(empty, contains="no labelaudit project")
    assert not (tmp_path / "early").exists()
    run_cli("init", tmp_path / "lead", "--images", tiny_tree, "--db", pg_url, check=True)
    mine = tmp_path / "laptop" / "proj"
    info = json.loads(run_cli("info", mine, "--db", pg_url, "--json", check=True).stdout)
    assert info["images"]["ok"] == 15 and (mine / "project.json").is_file()
    inside = run_cli("info", tiny_tree / "cat" / "proj", "--db", pg_url)
    assert_one_error_line(inside, contains="inside the image root")
    assert not (tiny_tree / "cat" / "proj").exists()
    copy = tmp_path / "laptop" / "images"
    shutil.copytree(tiny_tree, copy)
    run_cli("import", mine, "--images", copy, check=True)  # project.json names the db now
    assert json.loads(run_cli("info", mine, "--json", check=True).stdout)["image_root"] == str(copy)
    lead = json.loads(run_cli("info", tmp_path / "lead", "--json", check=True).stdout)
    assert lead["image_root"] == str(tiny_tree)  # the other machine keeps its own root


def test_repoint_to_a_folder_of_other_images_is_one_line(tmp_path: Path, tiny_tree: Path) -> None:
    run_cli("init", tmp_path / "p", "--images", tiny_tree, check=True)
    other = make_tree(tmp_path / "other", {"cat": 3}, seed=4)
    proc = run_cli("import", tmp_path / "p", "--images", other)
    assert_one_error_line(proc, contains="does not hold this project's images")
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert info["image_root"] == str(tiny_tree)


def test_repoint_to_an_export_folder_is_refused_and_changes_nothing(
    tmp_path: Path, tiny_tree: Path
) -> None:
    run_cli("init", tmp_path / "p", "--images", tiny_tree, check=True)
    project_file = (tmp_path / "p" / "project.json").read_bytes()
    info_before = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    train = tmp_path / "out_keep" / "train"  # a partial copy with a relabelled file moved
    shutil.copytree(tiny_tree, train)
    (train / "cat" / "0000.png").rename(train / "dog" / "0000_relabelled.png")
    (train / "owl" / "0001.png").unlink()
    proc = run_cli("import", tmp_path / "p", "--images", train)
    assert_one_error_line(proc, contains="2 of 15 files are not at their stored paths")
    assert proc.stdout == ""
    assert (tmp_path / "p" / "project.json").read_bytes() == project_file
    info_after = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert info_after["classes"] == info_before["classes"]
    assert info_after["last_import"]["import_id"] == info_before["last_import"]["import_id"]
    lone = run_cli("import", tmp_path / "p", "--force")
    assert_one_error_line(lone, contains="--force only applies")
    forced = run_cli("import", tmp_path / "p", "--images", train, "--force", check=True)
    assert "warning: re-pointed with --force" in forced.stderr
    assert "1 moved" in forced.stdout and "1 given label changed" in forced.stdout


def test_info_reports_images_outside_classes_as_unlabelled(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"cat": 2, "dog": 2, "airplane": 3, "ship": 1})
    run_cli("init", tmp_path / "p", "--images", root, "--classes", "cat,dog", check=True)
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert info["images"] == {"ok": 4, "broken": 0, "missing": 0, "unlabelled": 4}
    assert list(info["classes"]) == ["cat", "dog"]
    entry = info["unlabelled"]["unknown_label"]
    assert entry["count"] == 4 and entry["labels"] == {"airplane": 3, "ship": 1}
    text = run_cli("info", tmp_path / "p", check=True).stdout
    assert "4 valid, 0 broken, 0 missing, 4 unlabelled" in text
    reason = "unknown_label: 4 - label not among the allowed classes (--classes)"
    assert f"{reason}: airplane 3, ship 1" in text
    assert "(no label)" not in text
