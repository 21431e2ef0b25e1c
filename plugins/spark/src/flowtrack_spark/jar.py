"""The listener jar: compiled from the Java source shipped in this package, cached per Spark
version and source hash.

``javac`` compiles the classes against the jars of the installed PySpark (no network, no
Maven); the jar is written with Python's zipfile and moved into place with an atomic rename,
so two processes building at once both end up with a complete jar and a half-written one is
never seen.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from flowtrack.errors import FlowtrackError

LISTENER = "dev.flowtrack.spark.FlowtrackListener"
QUERY_LISTENER = "dev.flowtrack.spark.FlowtrackQueryListener"
SOURCE_DIR = Path(__file__).parent / "java"
ENV_CACHE = "FLOWTRACK_SPARK_CACHE"


class JarError(FlowtrackError):
    """The listener jar cannot be built (no JDK, no PySpark, javac failed)."""


def sources() -> list[Path]:
    return sorted(SOURCE_DIR.rglob("*.java"))


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in sources():
        digest.update(path.relative_to(SOURCE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def spark_home() -> Path:
    """The installed PySpark's folder (its ``jars/`` hold Spark's classes)."""
    try:
        import pyspark
    except ImportError as exc:
        raise JarError("PySpark is not installed: pip install 'pyspark>=4,<5'") from exc
    return Path(pyspark.__file__).parent


def spark_version() -> str:
    import pyspark

    return str(pyspark.__version__)


def cache_dir() -> Path:
    """Where built jars are kept: $FLOWTRACK_SPARK_CACHE, else the user's cache folder."""
    explicit = os.environ.get(ENV_CACHE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flowtrack" / "spark"


def jar_path() -> Path:
    """Where the jar for this Spark version and this source is (built or not)."""
    return cache_dir() / f"flowtrack-spark-listener-{spark_version()}-{source_hash()}.jar"


def existing_jar() -> Path | None:
    """The built jar, or None: never builds (cheap enough for every session start)."""
    try:
        path = jar_path()
    except JarError:
        return None
    return path if path.is_file() else None


def find_javac() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "javac"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("javac")
    if found:
        return found
    raise JarError(
        "no JDK found: the flowtrack Spark listener is compiled with javac, which is neither "
        f"in JAVA_HOME ({java_home or 'not set'}) nor on PATH; install a JDK 17 or newer "
        "(Debian: apt-get install openjdk-17-jdk-headless). Spark itself runs without it; "
        "only tracking is off."
    )


def build(force: bool = False) -> Path:
    """The jar's path, compiling it first if it is not in the cache."""
    target = jar_path()
    if target.is_file() and not force:
        return target
    javac = find_javac()
    classpath = str(spark_home() / "jars" / "*")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=target.parent) as tmp:
        classes = Path(tmp) / "classes"
        classes.mkdir()
        cmd = [javac, "-nowarn", "-encoding", "UTF-8", "--release", "17", "-cp", classpath]
        cmd += ["-d", str(classes), *map(str, sources())]
        try:
            # javac from JAVA_HOME or PATH, on our own source files: no user input in the command.
            done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise JarError(f"could not run {javac}: {exc}") from exc
        if done.returncode != 0:
            raise JarError(f"javac failed building the Spark listener:\n{done.stderr.strip()}")
        partial = Path(tmp) / "listener.jar"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        os.replace(partial, target)
    return target
