"""An independent transcription of jhalfs's ``LFS/lfs.xsl`` (the modern one, with
``chapter-cross-tools`` and a ``start-script`` template) into Python: the oracle that
tests/test_book_parity.py holds lfsplug_book's scripts to.

It reads the profiled book (the root :func:`lfsplug_book.source.load` gives: entities resolved,
XIncludes done, the other init system and other architectures dropped, as jhalfs profiles the
book before lfs.xsl) and gives, for each page jhalfs writes, ``(chapterNN/NNN-name, commands)``:
``commands`` is what jhalfs writes between ``# Start of LFS book script`` and the
``echo -e "\\n\\nTotalseconds...`` line (chapter 4's pages have no start-script: there, what
follows the ``set -e`` and blank line, up to ``exit``).

jhalfs's defaults: pkgmngt=n, wrap-install=n, ncurses5=n, bomb-testsuite=n, strip=n,
del-la-files=y, full-locale=n and the values of :data:`PARAMS`; ``testsuite`` is 0..3.
Left out, as those defaults leave them out: the package-manager scriptlets and ``$PKG_DEST``
rewriting, the ``wrapInstall`` quoting, ncurses 5, the lang-specific ``localedef``
(lang C), bomb-on-test-failure; and the start/end-script framing itself (timers, du, unpacking).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["PARAMS", "TEST_SUFFIX", "scripts"]

#: lfs.xsl's parameters at jhalfs's defaults.
PARAMS = {"timezone": "GMT", "page": "letter", "lang": "C", "hostname": "HOSTNAME",
          "interface": "eth0", "ip": "10.0.2.9", "gateway": "10.0.2.2", "prefix": "24",
          "broadcast": "10.0.2.255", "domain": "lfs.org", "nameserver1": "10.0.2.3",
          "nameserver2": "8.8.8.8", "font": "lat0-16", "keymap": "us", "local": "n",
          "log-level": "4", "strip": "n", "del-la-files": "y", "full-locale": "n"}
#: What jhalfs appends to a test command (bomb-testsuite=n).
TEST_SUFFIX = " >> $TEST_LOG 2>&1 || true"

# template match="/": the chapters, numbered from 4 in document order
CHAPTER_IDS = ("chapter-final-preps", "chapter-cross-tools", "chapter-temporary-tools",
               "chapter-chroot-temporary-tools", "chapter-building-system", "chapter-config",
               "chapter-bootscripts", "chapter-bootable")
FINAL_CHAPTERS = ("chapter-building-system", "chapter-config", "chapter-bootscripts",
                  "chapter-bootable")
TEMP_CHAPTERS = ("chapter-temporary-tools", "chapter-chroot-temporary-tools",
                 "chapter-cross-tools")
CRITICAL_IDS = ("ch-system-gcc", "ch-system-glibc", "ch-system-gmp", "ch-system-mpfr",
                "ch-system-binutils")
LATE_TEST_IDS = ("ch-tools-dejagnu", "ch-system-systemd")  # tests run after install
RUNS = "screen[not(@role) or @role != 'nodump']"


def _before(text: str, sep: str) -> str:
    """XPath substring-before."""
    return text.split(sep, 1)[0] if sep in text else ""


def _after(text: str, sep: str) -> str:
    """XPath substring-after."""
    return text.split(sep, 1)[1] if sep in text else ""


def _string(node: etree._Element, path: str = ".") -> str:
    return str(node.xpath(f"string({path})"))


def scripts(root: etree._Element, testsuite: int = 1) -> list[tuple[str, str]]:
    """Each page jhalfs writes, in order: its relative path and its commands."""
    return _Writer(root, testsuite).scripts()


class _Writer:
    def __init__(self, root: etree._Element, testsuite: int) -> None:
        self.root = root
        self.testsuite = testsuite

    # template match="/" and match="chapter"
    def scripts(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        wanted = " or ".join(f"@id='{c}'" for c in CHAPTER_IDS)
        for number, chapter in enumerate(self.root.xpath(f"//chapter[{wanted}]"), 4):
            sect1s = chapter.xpath(f"sect1[.//{RUNS}/userinput"
                                   f"[not(starts-with(string(), 'chroot'))]]")
            # template match="sect1": dir and file names from the dbhtml PIs
            pi_dir = _after(_string(chapter, "processing-instruction('dbhtml')"), "dir=")
            dirname = _before(pi_dir[1:], pi_dir[:1]) if pi_dir else ""
            for position, sect1 in enumerate(sect1s, 1):
                pi_file = _after(_string(sect1, "processing-instruction('dbhtml')"),
                                 "filename=")
                filename = _before(pi_file[1:], ".html")
                order = f"{number}{position:02d}"
                parts = [self.sect2(node) if node.tag == "sect2" else self.userinput(node)
                         for node in sect1.xpath(f"sect2 | {RUNS}/userinput")]
                found.append((f"{dirname}/{order}-{filename}", "".join(parts)))
        return found

    # template match="sect2"
    def sect2(self, sect2: etree._Element) -> str:
        page = _string(sect2, "../@id")
        late = page in LATE_TEST_IDS
        inputs = sect2.xpath(f".//{RUNS}/userinput")
        out = [self.userinput(u) for u in inputs
               if u.get("remap") in ("pre", "configure", "make")
               or (u.get("remap") == "test" and not late)]
        out += [self.userinput(u) for u in inputs if u.get("remap") == "install"]
        installation = sect2.get("role") == "installation"
        if self.testsuite == 3 and page == "ch-tools-glibc" and installation:
            out.append(self.locales("locale-test"))
        if page == "ch-system-glibc" and installation:
            full = PARAMS["full-locale"] == "y"
            out.append(self.locales("locale-full" if full else "locale-test"))
            # lang C: no extra localedef
        out += [self.userinput(u) for u in inputs
                if u.get("remap") in (None, "adjust") or (u.get("remap") == "test" and late)]
        return "".join(out)

    def locales(self, remap: str) -> str:
        """xsl:copy-of the book's locale commands: their text, then a newline."""
        return "".join(_string(u) for u in self.root.xpath(f"//userinput[@remap='{remap}']")) \
            + "\n"

    # template match="userinput"
    def userinput(self, node: etree._Element) -> str:  # noqa: PLR0911 (an xsl:choose)
        text = _string(node)
        remap = node.get("remap")
        chapter = _string(node, "ancestor::chapter/@id")
        if text == "make mrproper":  # copying the kernel config file
            kernel = bool(node.xpath("ancestor::sect1[@id='ch-bootable-kernel']"))
            return "make mrproper\n" + ("cp -v ../kernel-config .config\n" if kernel else "")
        if remap == "test":
            return self.comment_test(node, text)
        if "strip " in text or "\\*.la" in text:
            return self.comment_strip(text)
        if remap == "install" and chapter in FINAL_CHAPTERS:  # pkgmngt=n
            if "firmware,udev" in text:
                return f"if [[ ! -d /lib/udev/devices ]] ; then\n{self.apply(node)}\nfi\n"
            if "make " in text:
                return f"{_before(text, 'make ')}make -j1 {_after(text, 'make ')}\n"
            return self.apply(node) + "\n"
        if remap == "install" and chapter in TEMP_CHAPTERS:  # -j1 in temporary chapters
            if "make " in text:
                return f"{_before(text, 'make ')}make -j1 {_after(text, 'make ')}\n"
            return self.apply(node) + "\n"
        return self.apply(node) + "\n"

    # xsl:apply-templates on an element's children (text copied; comments and PIs dropped)
    def apply(self, node: etree._Element) -> str:
        parts = [node.text or ""]
        for child in node:
            if child.tag == "replaceable":
                parts.append(self.replaceable(child))
            elif child.tag == "literal":
                parts.append(self.literal(child))
            elif isinstance(child.tag, str):
                parts.append(self.apply(child))
            parts.append(child.tail or "")
        return "".join(parts)

    # template match="replaceable"
    def replaceable(self, node: etree._Element) -> str:
        text = _string(node)
        if node.xpath("ancestor::sect1[@id='ch-system-glibc']"):
            return PARAMS["timezone"]
        if node.xpath("ancestor::sect1[@id='ch-system-groff']"):
            return PARAMS["page"]
        rules = (("<ll>_<CC>", PARAMS["lang"]), ("Domain", PARAMS["domain"]),
                 ("primary", PARAMS["nameserver1"]), ("secondary", PARAMS["nameserver2"]),
                 ("192.168.1.1", PARAMS["ip"]), ("192.168.0.2", PARAMS["ip"]),
                 ("eth0", PARAMS["interface"]), ("HOSTNAME", PARAMS["hostname"]),
                 ("FQDN", f"{PARAMS['hostname']}.{PARAMS['domain']}"), ("alias", ""),
                 ("<lfs>", PARAMS["hostname"]))
        for needle, value in rules:
            if needle in text:
                return value
        return f"**EDITME{self.apply(node)}EDITME**"

    # template match="literal"
    def literal(self, node: etree._Element) -> str:  # noqa: PLR0911 (an xsl:choose)
        text = _string(node)
        p = PARAMS
        if "ONBOOT" in text:  # template outputnet: the book's sysv example values
            return _substitute(text, [("eth0", p["interface"], None),
                                      ("192.168.1.1", p["gateway"], None),
                                      ("192.168.1.255", p["broadcast"], None),
                                      ("192.168.1.2", p["ip"], None),
                                      ("24", p["prefix"], None)])
        if "[Match]" in text:  # template outputsysdnet: the book's systemd example values
            dns = f"{p['nameserver1']}\nDNS={p['nameserver2']}"
            return _substitute(text, [
                ("<network-device-name>", p["interface"], None),
                ("192.168.0.1", p["gateway"], lambda t: "Gateway" in t),
                ("192.168.0.1", dns, lambda t: "Gateway" not in t),
                ("192.168.0.2", p["ip"], None), ("24", p["prefix"], None),
                ("<Your Domain Name>", p["domain"], None)])
        if "0.0 0 0.0" in text:  # /etc/adjtime
            return _before(text, "LOCAL") + ("LOCAL" if p["local"] == "y" else "UTC")
        if "UTC=1" in text:
            return f"{_before(text, '1')}{'0' if p['local'] == 'y' else '1'}{_after(text, '1')}"
        if "bg_bds-" in text:  # template outputsysvconsole
            return _substitute(text, [
                ("bg_bds-utf8", p["keymap"], None),
                ("LatArCyrHeb-16", f"{p['font']}\"\nLOGLEVEL=\"{p['log-level']}", None)])
        if "de-latin1" in text:  # template outputsysdconsole
            return _substitute(text, [("de-latin1", p["keymap"], None),
                                      ("Lat2-Terminus16", p["font"], None)])
        return self.apply(node)

    # template comment-strip: strip=n comments stripping out; del-la-files=y keeps .la removal
    def comment_strip(self, text: str) -> str:
        out = []
        for line in text.split("\n"):
            if "\\*.la" in line:
                out.append(("# " if PARAMS["del-la-files"] == "n" else "") + line)
            elif "strip " in line:
                out.append(("# " if PARAMS["strip"] == "n" else "") + line + " || true")
            else:
                out.append(line)
        return "".join(f"{line}\n" for line in out)

    # template comment-test (bomb-testsuite=n), line by line; a line holding EOF toggles
    # "inside a here-document" for the lines after it
    def comment_test(self, node: etree._Element, text: str) -> str:
        sect1 = _string(node, "ancestor::sect1/@id")
        chapter = _string(node, "ancestor::chapter/@id")
        off = (self.testsuite == 0
               or (self.testsuite == 1 and sect1 not in CRITICAL_IDS)
               or (self.testsuite == 2 and chapter == "chapter-temporary-tools"))
        out = []
        eof_seen = False
        for line in text.split("\n"):
            suffix = "" if eof_seen else TEST_SUFFIX
            if "make -k" in text:  # the whole command's text, as string() in the xsl
                said = line + suffix
            elif "make" in line:
                said = f"{_before(line, 'make')}make -k{_after(line, 'make')}{suffix}"
            elif ">>" in line or line.endswith("\\"):
                said = line
            else:
                said = line + suffix
            out.append(("# " if off else "") + said + "\n")
            if "EOF" in line:
                eof_seen = not eof_seen
        return "".join(out)


def _substitute(text: str, rules: list[tuple[str, str, Callable[[str], bool] | None]]) -> str:
    """The xsl's recursive output* templates: the first rule whose needle is in ``text`` (and
    whose condition holds for it) replaces the needle's first occurrence, and the text before
    and after it are treated the same way."""
    for needle, value, condition in rules:
        if needle in text and (condition is None or condition(text)):
            head, tail = text.split(needle, 1)
            return _substitute(head, rules) + value + _substitute(tail, rules)
    return text
