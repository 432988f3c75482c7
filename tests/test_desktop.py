"""Desktop resources: the shipped files, ``labelaudit install-desktop`` and the built wheel."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from helpers import assert_one_error_line, in_ci, run_cli, tree_fingerprint
from labelaudit import __version__
from labelaudit.cli.cmd_install_desktop import desktop_entry
from labelaudit.resources import (
    APP_ID,
    DESKTOP_ENTRY,
    ICON_NAME,
    ICON_SIZES,
    METAINFO,
    icon_png,
    resource,
    resource_names,
)

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "labelaudit" / "resources"
ENTRY = f"applications/{DESKTOP_ENTRY}"


def tool(name: str) -> str:
    """A validator from the distribution (desktop-file-utils, appstream); CI must have it."""
    found = shutil.which(name)
    if found is None:
        if in_ci():
            pytest.fail(f"{name} is missing in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return found


def install_desktop(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"XDG_DATA_HOME": str(tmp_path / "share"), "HOME": str(tmp_path / "home")}
    return run_cli("install-desktop", *args, env=env, timeout=60)


def entry_keys(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_every_resource_is_found_through_importlib() -> None:
    for name in resource_names():
        assert resource(name).read_bytes() == (SOURCE / name).read_bytes(), name
    for size in ICON_SIZES:
        with Image.open(SOURCE / icon_png(size)) as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    svg = ET.parse(SOURCE / f"{ICON_NAME}.svg").getroot()
    assert svg.get("viewBox") == "0 0 128 128"
    keys = entry_keys(resource(DESKTOP_ENTRY).read_text(encoding="utf-8"))
    assert keys["Exec"] == "labelaudit-gui %f" and keys["Icon"] == ICON_NAME
    meta = ET.fromstring(resource(METAINFO).read_bytes())
    assert meta.findtext("id") == APP_ID
    assert meta.findtext("launchable") == DESKTOP_ENTRY
    # The newest release is this version: bump the metainfo with the version.
    assert meta.find("releases/release").get("version") == __version__  # type: ignore[union-attr]


def test_install_desktop_for_the_current_user(tmp_path: Path) -> None:
    proc = install_desktop(tmp_path)
    assert proc.returncode == 0, proc.stderr
    share = tmp_path / "share"
    expected = {
        f"icons/hicolor/{size}x{size}/apps/{ICON_NAME}.png": icon_png(size) for size in ICON_SIZES
    }
    expected[f"icons/hicolor/scalable/apps/{ICON_NAME}.svg"] = f"{ICON_NAME}.svg"
    expected[f"metainfo/{METAINFO}"] = METAINFO
    for relpath, name in expected.items():
        assert (share / relpath).read_bytes() == (SOURCE / name).read_bytes(), relpath
        assert f"installed {share / relpath}" in proc.stdout
    # The launcher does not see a venv's PATH: the entry names this installation's script.
    gui = str(Path(sys.executable).parent / "labelaudit-gui")
    keys = entry_keys((share / ENTRY).read_text(encoding="utf-8"))
    assert keys["Exec"] == f"{gui} %f" and keys["TryExec"] == gui
    assert keys["Icon"] == ICON_NAME
    assert not (tmp_path / "home").exists()  # XDG_DATA_HOME was honoured
    again = install_desktop(tmp_path)  # a second run replaces its own files
    assert again.returncode == 0, again.stderr


def test_installed_files_pass_the_desktop_validators(tmp_path: Path) -> None:
    validate, appstream = tool("desktop-file-validate"), tool("appstreamcli")
    assert install_desktop(tmp_path).returncode == 0
    entry = tmp_path / "share" / ENTRY
    odd = tmp_path / "odd.desktop"  # an installation path that needs quoting in Exec
    odd.write_bytes(desktop_entry('/opt/my apps/"50%"/$HOME\\bin/labelaudit-gui'))
    assert entry_keys(odd.read_text())["Exec"] == (
        r'"/opt/my apps/\\"50%%\\"/\\$HOME\\\\bin/labelaudit-gui" %f'
    )
    for path in (entry, odd):
        proc = subprocess.run([validate, str(path)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "error" not in proc.stdout + proc.stderr, proc.stdout
    meta = tmp_path / "share" / "metainfo" / METAINFO
    proc = subprocess.run(
        [appstream, "validate", "--no-net", "--pedantic", str(meta)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_uninstall_removes_only_what_it_installed(tmp_path: Path) -> None:
    share = tmp_path / "share"
    foreign = {
        "applications/other.desktop": b"[Desktop Entry]\nName=other\n",
        "icons/hicolor/48x48/apps/other.png": b"not ours",
        "metainfo/other.metainfo.xml": b"<component/>",
    }
    for relpath, data in foreign.items():
        (share / relpath).parent.mkdir(parents=True, exist_ok=True)
        (share / relpath).write_bytes(data)
    folders_before = sorted(p for p in share.rglob("*") if p.is_dir())
    files_before = tree_fingerprint(share)
    assert install_desktop(tmp_path).returncode == 0
    edited = share / f"icons/hicolor/64x64/apps/{ICON_NAME}.png"
    edited.write_bytes(b"the user's own icon")  # changed since: uninstall keeps it
    proc = install_desktop(tmp_path, "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert f"kept {edited}" in proc.stdout
    assert f"removed {share / ENTRY}" in proc.stdout
    edited.unlink()  # what is left is exactly what was there before
    assert tree_fingerprint(share) == files_before
    folders_after = sorted(p for p in share.rglob("*") if p.is_dir())
    # The folders it created are gone but the one holding the kept file.
    assert folders_after == sorted([*folders_before, edited.parent, edited.parent.parent])
    proc = install_desktop(tmp_path, "--uninstall")
    assert proc.returncode == 0 and proc.stdout.startswith("nothing to remove"), proc.stdout


def test_install_never_overwrites_a_file_it_did_not_write(tmp_path: Path) -> None:
    share = tmp_path / "share"
    theirs = share / f"icons/hicolor/scalable/apps/{ICON_NAME}.svg"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("<svg/>")
    before = tree_fingerprint(share)
    proc = install_desktop(tmp_path)
    assert_one_error_line(proc, contains="was not written by labelaudit")
    assert proc.returncode == 2
    assert tree_fingerprint(share) == before
    # Nothing new either: no folder, no install record.
    assert {p.relative_to(share).as_posix() for p in share.rglob("*")} == {
        "icons",
        "icons/hicolor",
        "icons/hicolor/scalable",
        "icons/hicolor/scalable/apps",
        f"icons/hicolor/scalable/apps/{ICON_NAME}.svg",
    }


def test_prefix_installs_under_its_share_folder(tmp_path: Path) -> None:
    prefix = tmp_path / "usr-local"
    prefix.mkdir()
    proc = install_desktop(tmp_path, "--prefix", str(prefix))
    assert proc.returncode == 0, proc.stderr
    assert (prefix / "share" / ENTRY).is_file()
    assert not (tmp_path / "share").exists()
    missing = install_desktop(tmp_path, "--prefix", str(tmp_path / "nowhere"))
    assert_one_error_line(missing, contains="is not a folder")


def test_existing_desktop_caches_are_refreshed(tmp_path: Path) -> None:
    update = tool("update-desktop-database")
    applications = tmp_path / "share" / "applications"
    applications.mkdir(parents=True)
    subprocess.run([update, str(applications)], check=True, timeout=60)  # the user's own cache
    proc = install_desktop(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"ran update-desktop-database -q {applications}" in proc.stdout
    assert "gtk-update-icon-cache" not in proc.stdout  # no icon cache there: none is created
    assert not (tmp_path / "share/icons/hicolor/icon-theme.cache").exists()


def _copy_project(target: Path) -> Path:
    """The files a source distribution is built from, without caches or build leftovers."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", target / "src", ignore=ignore)
    return target


WHEEL_CHECK = textwrap.dedent(
    """
    import hashlib, json, sys
    import labelaudit
    from labelaudit.resources import resource, resource_names
    digests = {n: hashlib.sha256(resource(n).read_bytes()).hexdigest() for n in resource_names()}
    print(json.dumps({"file": labelaudit.__file__, "digests": digests}))
    """
)


def test_the_built_wheel_ships_every_resource(tmp_path: Path) -> None:
    """Build as ``python -m build`` does (sdist, then the wheel from it) and read every resource
    from the wheel: as a zip on sys.path and unpacked, as pip installs it."""
    (tmp_path / "project").mkdir()
    project = _copy_project(tmp_path / "project")
    build = "from setuptools import build_meta as b; print(b.build_sdist(%r))"
    subprocess.run(
        [sys.executable, "-c", build % str(tmp_path / "sdist")],
        cwd=project,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (sdist,) = (tmp_path / "sdist").glob("*.tar.gz")
    wheel_cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*wheel_cmd, "--no-index", "-q", "-w", str(tmp_path / "dist"), str(sdist)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (wheel,) = (tmp_path / "dist").glob("labelaudit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in resource_names():
        assert f"labelaudit/resources/{name}" in names, name
    assert "labelaudit/gui/app_icon.py" in names
    with tarfile.open(sdist) as tar:
        assert any(m.name.endswith(f"resources/{METAINFO}") for m in tar.getmembers())
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    expected = {n: hashlib.sha256((SOURCE / n).read_bytes()).hexdigest() for n in resource_names()}
    for path, inside in ((wheel, wheel), (site, site)):
        # -S: no site-packages, so the editable install of the checkout cannot answer instead.
        proc = subprocess.run(
            [sys.executable, "-S", "-c", WHEEL_CHECK],
            env={**os.environ, "PYTHONPATH": str(path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        found = json.loads(proc.stdout)
        assert found["file"].startswith(str(inside)), found["file"]
        assert found["digests"] == expected


def test_a_relative_xdg_data_home_is_ignored(tmp_path: Path) -> None:
    """The XDG spec ignores a relative XDG_DATA_HOME: ~/.local/share it is, made if missing."""
    home = tmp_path / "home"
    env = {"XDG_DATA_HOME": "relative/share", "HOME": str(home)}
    proc = run_cli("install-desktop", env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (home / ".local/share" / ENTRY).is_file()
    proc = run_cli("install-desktop", "--uninstall", env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # The data folder it had to create goes too; ~/.local, which it did not, stays.
    assert [p.relative_to(home).as_posix() for p in home.rglob("*")] == [".local"]
