"""Fixtures for badge tests: a mixed-script attendee set, rasterizing helpers and a real CUPS with cups-pdf queues."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.badges.render import BadgeData
from tests.realparts import need, need_program

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "badges"
TOKEN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # what kiosk.tokens uses: no 0/O, 1/I/L

# (first, full, company, title, pronouns, offer, need, ticket type): one per script the brief names.
PEOPLE = [
    ("Zoë", "Zoë Ångström-Müller", "Société Générale", "Head of Développement", "she/her",
     "Rust, embedded Linux and supply-chain security", "A co-founder who knows B2B sales in the Nordics", "speaker"),
    ("Ελένη", "Ελένη Παπαδοπούλου", "Αθηναϊκή Τεχνολογία", "Μηχανικός", "", "Κυβερνοασφάλεια", "Επενδυτές",
     "attendee"),
    ("Дмитрий", "Дмитрий Иванов", "Яндекс", "Разработчик", "он/его", "Базы данных", "Наставник", "sponsor"),
    ("美咲", "山田 美咲", "株式会社ギブアンドテイク", "エンジニア", "", "機械学習とデータ基盤", "日本市場の販売代理店",
     "staff"),
    ("伟", "王伟", "腾讯", "产品经理", "", "云计算", "合作伙伴", "attendee"),
    ("지민", "김지민", "삼성전자", "연구원", "", "반도체 설계", "투자자", "vip"),
    ("محمد", "محمد بن عبد الله العلي", "شركة الاتصالات", "مهندس", "", "الذكاء الاصطناعي", "شريك تقني", "press"),
    ("נועה", "נועה כהן", "טבע", "מדענית", "היא", "ביולוגיה חישובית", "שותף עסקי", "volunteer"),
    ("Nguyễn", "Nguyễn Thị Minh Khai", "Công ty Phần mềm", "Kỹ sư", "", "Điện toán đám mây", "Nhà đầu tư", "attendee"),
    ("Wolfeschlegelsteinhausenbergerdorff", "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Sr.",
     "Very Long Company Name International Holdings Incorporated", "Chief Executive Officer", "he/him",
     "An offer so long it cannot possibly fit on two lines of a badge even at the smallest size " * 2, "", "sponsor"),
    ("<b>&amp;", "<b>&amp; </para> Robert'); DROP TABLE--", "<font color=red>ACME</font>", "\x00\x07\x1b[31m",
     "", "Rockets 🚀 and 👩\u200d💻 code", "", "exhibitor"),
    ("Ana", "Ana", "", "", "", "", "", ""),
]


def make_badges(count: int, base_url: str = "https://give.example.org/b/") -> list[BadgeData]:
    """`count` badges cycling through PEOPLE, each with its own badge token URL."""
    badges = []
    for i in range(count):
        first, full, company, title, pronouns, offer, need_, ticket = PEOPLE[i % len(PEOPLE)]
        token = "".join(TOKEN_ALPHABET[(i * 7 + k * 13 + k * k) % len(TOKEN_ALPHABET)] for k in range(20))
        badges.append(BadgeData(first, full, company, title, pronouns, offer, need_, ticket, base_url + token,
                                "Open Source Summit Lisboa 2026", offers=[offer, "Mentoring"] if offer else [],
                                needs=[need_] if need_ else []))
    return badges


@pytest.fixture
def badges_factory():
    return make_badges


def rasterize(pdf: bytes, tmp_path: Path, dpi: int = 150, name: str = "page") -> list[Path]:
    """PNG pages of a PDF via poppler's pdftoppm."""
    need_program("pdftoppm")
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(src), str(tmp_path / name)], check=True, timeout=120)
    return sorted(tmp_path.glob(f"{name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def zxing():
    """The zxing-cpp module (skip, or fail in CI, without it)."""
    try:
        import zxingcpp
    except ImportError:
        zxingcpp = None
    need("zxing-cpp", zxingcpp is not None, "pip install zxing-cpp (in the test extras)")
    return zxingcpp


def decode_qrs(png: Path) -> list[str]:
    """Every QR code zxing-cpp finds on an image."""
    zxingcpp = zxing()
    from PIL import Image

    with Image.open(png) as image:
        return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


# -------------------------------------------------------------------------------------------------- CUPS

CUPS_PDF_BACKEND = "/usr/lib/cups/backend/cups-pdf"
CUPS_PDF_PPD = "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"
# cups-pdf reads /etc/cups/cups-pdf-<instance>.conf for a device URI cups-pdf:/<instance>: our queues get their
# own output folder without touching the machine's cups-pdf.conf.
INSTANCE = "givetake"
QUEUES = ("GiveTakeTest1", "GiveTakeTest2")


@dataclass
class CupsSandbox:
    queues: tuple[str, ...]
    out_dir: Path

    def output_of(self, job_id: str, timeout: float = 60.0) -> Path:
        """The PDF cups-pdf wrote for a job (its name ends in -job_<n>.pdf), waiting up to `timeout` s."""
        number = job_id.rpartition("-")[2]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = list(self.out_dir.glob(f"*-job_{number}.pdf"))
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"cups-pdf wrote no file for {job_id} in {self.out_dir} within {timeout} s")


def _cmd(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=check,
                          env=dict(os.environ, LANG="C", LC_ALL="C"))


def _scheduler_running() -> bool:
    return "scheduler is running" in _cmd("lpstat", "-r", check=False).stdout


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def cups():
    """A running cupsd with two cups-pdf queues writing to a known folder; undone at the end."""
    cupsd = shutil.which("cupsd") or "/usr/sbin/cupsd"
    need_program(cupsd, "lp", "lpstat", "lpadmin", "cupsenable", "cupsdisable", "cupsaccept", "pdftoppm")
    need("cups-pdf", os.path.exists(CUPS_PDF_BACKEND), "install printer-driver-cups-pdf")
    need("root", os.geteuid() == 0, "the CUPS tests configure queues and cups-pdf as root")
    started = None
    if not _scheduler_running():
        started = subprocess.Popen([cupsd, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(_scheduler_running, 15, "cupsd to start")
    out_dir = Path("/var/spool/cups-pdf-givetake-test")
    out_dir.mkdir(parents=True, exist_ok=True)
    conf = Path(f"/etc/cups/cups-pdf-{INSTANCE}.conf")
    conf.write_text(f"Out {out_dir}\nGrp lpadmin\nDecodeHexStrings 1\n")
    existing = {line.split()[1] for line in _cmd("lpstat", "-p", check=False).stdout.splitlines()
                if line.startswith("printer ")}
    added = []
    for queue in QUEUES:
        _cmd("lpadmin", "-p", queue, "-E", "-v", f"cups-pdf:/{INSTANCE}", "-m", CUPS_PDF_PPD,
             "-D", f"Give & Take test queue {queue}")
        _cmd("cupsenable", queue)
        _cmd("cupsaccept", queue)
        if queue not in existing:
            added.append(queue)
    try:
        yield CupsSandbox(QUEUES, out_dir)
    finally:
        for queue in QUEUES:
            _cmd("cancel", "-a", queue, check=False)
        for queue in added:
            _cmd("lpadmin", "-x", queue, check=False)
        if started is not None:
            started.terminate()
            try:
                started.wait(timeout=10)
            except subprocess.TimeoutExpired:
                started.kill()


@pytest.fixture
def queues(cups):
    """Both test queues enabled and accepting before a test, and again after it."""
    for queue in cups.queues:
        _cmd("cupsenable", queue)
        _cmd("cupsaccept", queue)
    yield cups
    for queue in cups.queues:
        _cmd("cupsenable", queue)
        _cmd("cupsaccept", queue)
