"""Build and run the Camunda engine application (engine/) as a background service.

The jar is rebuilt only when a source under engine/ is newer than it, so `smartfin up` is quick after
the first time; passwords come from var/secrets.env and reach the engine only through its environment.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests

from smartfin.camunda.secrets import ensure_secrets
from smartfin.kernel.background import ManagedService, ServiceError
from smartfin.kernel.settings import PROJECT_ROOT, Settings

ENGINE_DIR = PROJECT_ROOT / "engine"
ENGINE_JAR = ENGINE_DIR / "target" / "smartfin-engine.jar"
JVM_OPTIONS = ["-Xms256m", "-Xmx1g", "-XX:+UseParallelGC", "-Dfile.encoding=UTF-8"]


def jar_is_stale(jar: Path = ENGINE_JAR) -> bool:
    """True when the jar is missing or older than any file of the Maven project."""
    if not jar.exists():
        return True
    built = jar.stat().st_mtime
    sources = [ENGINE_DIR / "pom.xml", *(p for p in (ENGINE_DIR / "src").rglob("*") if p.is_file())]
    return any(path.stat().st_mtime > built for path in sources)


def build_engine(force: bool = False, progress: Callable[[str], None] | None = None) -> Path:
    """Run the Maven build when needed; a failure shows Maven's own last lines."""
    if not force and not jar_is_stale():
        return ENGINE_JAR
    ENGINE_JAR.parent.mkdir(parents=True, exist_ok=True)
    # Two processes starting the engine at once (parallel test runs, `up` twice) must not both run
    # Maven into the same target/: the second waits, then finds the jar fresh.
    with open(ENGINE_DIR / "target" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and not jar_is_stale():
            return ENGINE_JAR
        return _run_maven(progress)


def _run_maven(progress: Callable[[str], None] | None) -> Path:
    if shutil.which("mvn") is None:
        raise ServiceError("Maven (`mvn`) is not installed; run `make setup` or install Debian's maven")
    if progress:
        progress("building the engine with Maven (first time takes a few minutes) …")
    result = subprocess.run(["mvn", "-B", "-q", "-DskipTests", "package"], cwd=ENGINE_DIR,
                            capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise ServiceError("the engine build failed (mvn package in engine/):\n" + "\n".join(output[-40:]))
    return ENGINE_JAR


def engine_port(settings: Settings) -> int:
    from urllib.parse import urlparse

    return urlparse(settings.engine_url).port or 8080


def engine_service(settings: Settings) -> ManagedService:
    """The engine as a managed service, configured entirely through its environment."""
    secrets = ensure_secrets(settings)
    env = {
        "SERVER_PORT": str(engine_port(settings)),
        "SMARTFIN_VAR_DIR": str(settings.var_dir.resolve()),
        "SMARTFIN_ENGINE_SERVICE_USER": settings.engine_user,
        "SMARTFIN_ENGINE_SERVICE_PASSWORD": secrets["SMARTFIN_ENGINE_SERVICE_PASSWORD"],
        "SMARTFIN_ENGINE_ADMIN_PASSWORD": secrets["SMARTFIN_ENGINE_ADMIN_PASSWORD"],
        "SPRING_PROFILES_ACTIVE": "demo" if settings.engine_demo else "default",
    }
    if settings.engine_jdbc_url:
        env["SMARTFIN_ENGINE_JDBC_URL"] = settings.engine_jdbc_url
        env["SMARTFIN_ENGINE_JDBC_USER"] = settings.engine_jdbc_user or ""
        env["SMARTFIN_ENGINE_JDBC_PASSWORD"] = (settings.engine_jdbc_password.get_secret_value()
                                                if settings.engine_jdbc_password else "")
    health_url = settings.engine_rest_url + "/engine"

    def healthy() -> bool:
        response = requests.get(health_url, timeout=2)
        return response.status_code == 200 and bool(response.json())

    return ManagedService(
        name="engine",
        argv=["java", *JVM_OPTIONS, "-jar", str(ENGINE_JAR)],
        settings=settings,
        healthy=healthy,
        env=env,
        cwd=settings.var_dir,
        umask=0o077,
    )


def start_engine(settings: Settings, progress: Callable[[str], None] | None = None) -> ManagedService:
    """Build if needed, start in the background and wait until the REST API answers."""
    build_engine(progress=progress)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    (settings.var_dir / "engine").mkdir(mode=0o700, exist_ok=True)
    service = engine_service(settings)
    service.start(settings.engine_start_timeout, progress)
    return service
