"""Packaging: `meson install` puts the programs, the man pages and the sample
config under the configured prefix (inside DESTDIR), the pages render without
a warning, and posternd.conf(5) and posternd(8) name exactly the keys and flags
of the config table."""

import json
import os
import re
import shutil
import subprocess

import pytest

REPO = os.path.join(os.path.dirname(__file__), "..", "..")
PAGES = ["man1/postern.1", "man5/posternd.conf.5", "man8/posternd.8"]


def build_options(builddir):
    p = subprocess.run(["meson", "introspect", builddir, "--buildoptions"],
                       capture_output=True, text=True, check=True)
    return {o["name"]: o["value"] for o in json.loads(p.stdout)}


def render(page):
    """The page as man renders it, and what man (groff -ww underneath) says on
    stderr meanwhile."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    p = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                       env=env)
    assert p.returncode == 0, p.stderr
    return p.stdout, p.stderr


@pytest.fixture(scope="module")
def installed(posternd_bin, tmp_path_factory):
    """The build directory of posternd_bin installed into a fresh DESTDIR."""
    if shutil.which("man") is None:
        pytest.fail("man is missing: scripts/deps installs man-db and groff-base")
    builddir = os.path.dirname(os.path.realpath(posternd_bin))
    dest = str(tmp_path_factory.mktemp("destdir"))
    p = subprocess.run(["meson", "install", "-C", builddir, "--no-rebuild", "--quiet"],
                       capture_output=True, text=True, env=dict(os.environ, DESTDIR=dest))
    assert p.returncode == 0, p.stdout + p.stderr
    opts = build_options(builddir)
    root = dest + opts["prefix"]
    return root, opts


def test_install_puts_everything_under_the_prefix(installed):
    root, opts = installed
    for path in [os.path.join(opts["sbindir"], "posternd"), os.path.join(opts["bindir"], "postern")]:
        assert os.access(os.path.join(root, path), os.X_OK), path
    for page in PAGES:
        assert os.path.isfile(os.path.join(root, opts["mandir"], page)), page
    doc = os.path.join(root, opts["datadir"], "doc", "postern")
    for name in ["posternd.conf.sample", "LICENSE", "README.md"]:
        assert os.path.isfile(os.path.join(doc, name)), name


def test_installed_programs_run(installed):
    root, opts = installed
    p = subprocess.run([os.path.join(root, opts["sbindir"], "posternd"), "--version"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("posternd "), p.stdout + p.stderr
    p = subprocess.run([os.path.join(root, opts["bindir"], "postern"), "explain", "250"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("page", PAGES)
def test_installed_page_renders_without_warnings(installed, page):
    root, opts = installed
    text, warnings = render(os.path.join(root, opts["mandir"], page))
    assert warnings == ""
    assert len(text) > 2000, text


def test_render_check_catches_a_broken_page(tmp_path):
    """The check above can fail: an unknown macro and an open list are reported."""
    bad = tmp_path / "bad.1"
    bad.write_text(".Dd January 1, 2026\n.Dt BAD 1\n.Os\n.Sh NAME\n.Nm bad\n.Nd broken\n"
                   ".Sh DESCRIPTION\n.Bl -tag -width Ds\n.It x\n.Zz y\n")
    _, warnings = render(str(bad))
    assert "Zz" in warnings and ".El" in warnings, warnings


def sample(posternd_bin):
    return subprocess.run([posternd_bin, "--print-config-sample"], capture_output=True,
                          text=True, check=True).stdout


def man_keys(text):
    """{key: the text of its entry} of posternd.conf.5."""
    out = {}
    for block in re.split(r"^\.It ", text, flags=re.M)[1:]:
        m = re.match(r"Cm ([a-z_0-9]+) No = ", block)
        if m:
            out[m.group(1)] = block.split("\n.El", 1)[0]
    return out


def test_posternd_conf_5_lists_the_table(posternd_bin):
    """Every key of the table has an entry, with the table's default; no entry
    names a key the table lacks."""
    text = sample(posternd_bin)
    defaults, prev = {}, ""
    for line in text.splitlines():
        m = re.match(r"#([a-z_0-9]+) = (.*)$", line)
        if m:
            defaults[m.group(1)] = None if prev.startswith("# default:") else m.group(2)
        prev = line
    with open(os.path.join(REPO, "man", "posternd.conf.5")) as f:
        entries = man_keys(f.read())
    assert set(entries) == set(defaults)
    for key, default in defaults.items():
        if default is None:
            continue
        after = entries[key].split("Default:", 1)[1]
        words = " ".join(w for w in after.split() if not re.match(r"^\.[A-Z][a-z]$", w))
        assert words.startswith(default), (key, default, words)


def test_posternd_8_lists_the_flags(posternd_bin):
    text = sample(posternd_bin)
    flags = set(re.findall(r"^# flag: (?:-., )?--([a-z-]+)", text, re.M))
    flags |= {"config", "print-config-sample", "help", "version"}
    with open(os.path.join(REPO, "man", "posternd.8")) as f:
        page = f.read()
    options = page.split(".Sh OPTIONS", 1)[1].split(".Sh ", 1)[0]
    documented = set(re.findall(r"^\.It (?:Fl [A-Za-z] , )?Fl \\-([a-z-]+)", options, re.M))
    assert documented == flags


def test_readme_stands_alone():
    """Every file the README links to is in the repository (a clone has no
    ../shared/), and every #anchor is one of its headings."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    assert "../" not in text
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.*)$", text, re.M)}
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert len(links) >= 5
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        if link.startswith("#"):
            assert link[1:] in anchors, link
        else:
            assert os.path.exists(os.path.join(REPO, link.split("#")[0])), link
