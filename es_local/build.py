"""Builds the Java launcher with Maven and caches its classpath, so a warm start runs ``java`` directly.

The jar and the classpath (a list of jars in ``~/.m2``) are rebuilt only when ``pom.xml`` or a Java source
changed, or when a jar of the cached classpath disappeared (for example after ``~/.m2`` was cleaned). Maven
itself is asked only for that: starting Maven costs several seconds, the JVM of the node does not need it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from es_local.errors import EsLocalError
from es_local.options import PACKAGE_DIR

POM = PACKAGE_DIR / "pom.xml"
SOURCES = PACKAGE_DIR / "src"
TARGET = PACKAGE_DIR / "target"
CLASSPATH_FILE = TARGET / "classpath.txt"
FINGERPRINT_FILE = TARGET / "build-fingerprint.txt"
BUILD_LOCK = TARGET / ".build.lock"
BUILD_LOG = TARGET / "build.log"
LAUNCH_DIR = TARGET / "launch"
MAIN_CLASS = "eslocal.LocalElasticsearch"
CONFIG_DIR = PACKAGE_DIR / "config"

# A first build downloads about 70 MB from Maven Central; later builds only compile.
MAVEN_TIMEOUT_S = 1200


@dataclass(frozen=True)
class Launcher:
    """Everything needed to run the node: the ``java`` to use and the full classpath."""

    java: Path
    classpath: str
    built_now: bool
    build_seconds: float


def elasticsearch_version() -> str:
    """The Elasticsearch version the launcher is built against (``elasticsearch.version`` in pom.xml)."""
    match = re.search(r"<elasticsearch\.version>([^<]+)</elasticsearch\.version>", POM.read_text(encoding="utf-8"))
    if match is None:
        raise EsLocalError(f"{POM} has no <elasticsearch.version> property")
    return match.group(1).strip()


def java_home() -> Path | None:
    """``ES_LOCAL_JAVA_HOME`` first (a JDK for the node only), then ``JAVA_HOME``, else ``java`` on PATH."""
    for variable in ("ES_LOCAL_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(variable)
        if value:
            return Path(value)
    return None


def java_executable() -> Path:
    home = java_home()
    if home is not None:
        candidate = home / "bin" / "java"
        if not candidate.is_file():
            raise EsLocalError(f"no java in {home}: point ES_LOCAL_JAVA_HOME or JAVA_HOME at a JDK 17 or newer")
        return candidate
    found = shutil.which("java")
    if found is None:
        raise EsLocalError("java was not found: install a JDK 17 or newer, or set ES_LOCAL_JAVA_HOME")
    return Path(found)


def ensure_built() -> Launcher:
    """Return the launcher, building it first if its inputs changed since the last build."""
    java = java_executable()
    TARGET.mkdir(parents=True, exist_ok=True)
    # Two test sessions starting at once must not run Maven into the same target/ folder together.
    with open(BUILD_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        classpath = _cached_classpath()
        if classpath is not None:
            return Launcher(java=java, classpath=classpath, built_now=False, build_seconds=0.0)
        started = time.monotonic()
        _run_maven()
        classpath = _cached_classpath()
        if classpath is None:
            raise EsLocalError(f"Maven finished but the launcher is incomplete; see {BUILD_LOG}")
        return Launcher(java=java, classpath=classpath, built_now=True, build_seconds=time.monotonic() - started)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [POM, *sorted(SOURCES.rglob("*.java"))]:
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _maven_jar() -> Path:
    return TARGET / f"es-local-{_project_version()}.jar"


def _launcher_jar(fingerprint: str) -> Path:
    """A copy of the jar named after its inputs: a rebuild never rewrites a jar that a running node has open."""
    return LAUNCH_DIR / f"es-local-{fingerprint[:16]}.jar"


def _project_version() -> str:
    # The project's own <version> directly follows its <artifactId>es-local</artifactId>.
    match = re.search(
        r"<artifactId>es-local</artifactId>\s*<version>([^<]+)</version>", POM.read_text(encoding="utf-8")
    )
    if match is None:
        raise EsLocalError(f"{POM} has no version for artifact es-local")
    return match.group(1).strip()


def _cached_classpath() -> str | None:
    """The classpath of the last build, or None when it is missing, stale or points at deleted jars."""
    if not (CLASSPATH_FILE.is_file() and FINGERPRINT_FILE.is_file()):
        return None
    fingerprint = _fingerprint()
    jar = _launcher_jar(fingerprint)
    if not jar.is_file() or FINGERPRINT_FILE.read_text(encoding="utf-8").strip() != fingerprint:
        return None
    dependencies = [entry for entry in CLASSPATH_FILE.read_text(encoding="utf-8").strip().split(os.pathsep) if entry]
    if not dependencies or not all(Path(entry).is_file() for entry in dependencies):
        return None
    return os.pathsep.join([str(jar), *dependencies])


def _run_maven() -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise EsLocalError("mvn was not found: install Maven 3.8 or newer (it builds the local Elasticsearch launcher)")
    env = dict(os.environ)
    home = java_home()
    if home is not None:
        env["JAVA_HOME"] = str(home)
    command = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        "package",
        "dependency:build-classpath",
        "-Dmdep.includeScope=runtime",
        f"-Dmdep.outputFile={CLASSPATH_FILE}",
    ]
    fingerprint = _fingerprint()
    FINGERPRINT_FILE.unlink(missing_ok=True)
    with open(BUILD_LOG, "w", encoding="utf-8") as log:
        try:
            result = subprocess.run(
                command, check=False, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=MAVEN_TIMEOUT_S
            )
        except subprocess.TimeoutExpired as error:
            raise EsLocalError(f"Maven did not finish within {MAVEN_TIMEOUT_S}s; see {BUILD_LOG}") from error
    if result.returncode != 0:
        raise EsLocalError(f"building the launcher with Maven failed: {_tail(BUILD_LOG, 15)} (full log: {BUILD_LOG})")
    _publish_jar(fingerprint)
    FINGERPRINT_FILE.write_text(fingerprint + "\n", encoding="utf-8")


def _publish_jar(fingerprint: str) -> None:
    """Copy Maven's jar under its fingerprint name and drop older copies (a running node keeps its open inode)."""
    LAUNCH_DIR.mkdir(parents=True, exist_ok=True)
    published = _launcher_jar(fingerprint)
    staging = published.with_suffix(".tmp")
    shutil.copyfile(_maven_jar(), staging)
    staging.replace(published)
    for old in LAUNCH_DIR.glob("es-local-*.jar"):
        if old != published:
            old.unlink(missing_ok=True)


def _tail(path: Path, lines: int) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())
