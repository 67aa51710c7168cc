"""The real PHB frontend, built from its source snapshot and served with an SPA fallback.

The snapshot is a tarball in the shared folder next to the repository
(``../shared/frontend/phbfrontend-*.tar.gz``, or next to the main checkout of a git
worktree; ``PHB_FRONTEND_TARBALL`` overrides it). It is
built as it is, with ``npm ci --ignore-scripts`` and ``vite build``; the only input is the
build-time ``VITE_API_BASE_URL``. Builds are cached under ``.cache/frontend/`` keyed by the
tarball's SHA-256 and the API URL, so a second run starts in seconds.

    python -m e2e.frontend build --api-url http://localhost:8000
    python -m e2e.frontend serve --api-url http://localhost:8000 --port 5173
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PHB_FRONTEND_CACHE", ROOT / ".cache" / "frontend"))


def tarball_path() -> Path:
    """The snapshot: ``$PHB_FRONTEND_TARBALL``, else the newest tarball in ``<repo>/../shared/frontend``."""
    override = os.environ.get("PHB_FRONTEND_TARBALL")
    if override:
        return Path(override)
    places = [ROOT.parent / "shared" / "frontend"]
    # A git worktree lives elsewhere; its main checkout's neighbour holds the shared folder.
    common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    if common:
        places.append(Path(common).parent.parent / "shared" / "frontend")
    for shared in places:
        candidates = sorted(shared.glob("phbfrontend-*.tar.gz"))
        if candidates:
            return candidates[-1]
    raise FileNotFoundError(f"no phbfrontend-*.tar.gz in {places[0]}; set PHB_FRONTEND_TARBALL")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(*, api_url: str, tarball: Path | None = None, quiet: bool = False) -> Path:
    """Build the snapshot against ``api_url`` (no trailing slash) and return its ``dist/`` folder."""
    tarball = tarball or tarball_path()
    api_url = api_url.rstrip("/")
    key = f"{_sha256(tarball)[:16]}-{hashlib.sha256(api_url.encode()).hexdigest()[:8]}"
    target = CACHE / key
    dist = target / "dist"
    if (target / "BUILT").exists() and (dist / "index.html").exists():
        return dist
    work = CACHE / f"{key}.work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(work, filter="data")
    source = next(path.parent for path in work.glob("*/package.json"))
    out = subprocess.DEVNULL if quiet else None
    env = {**os.environ, "VITE_API_BASE_URL": api_url, "CI": "1", "NODE_OPTIONS": "--max-old-space-size=4096"}
    print(f"frontend: npm ci in {source}", flush=True)
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=source, env=env, check=True, stdout=out)
    print(f"frontend: vite build with VITE_API_BASE_URL={api_url}", flush=True)
    subprocess.run(["npx", "--no-install", "vite", "build", "--outDir", str(target / "dist.new"), "--emptyOutDir"],
                   cwd=source, env=env, check=True, stdout=out)
    shutil.rmtree(dist, ignore_errors=True)
    (target / "dist.new").rename(dist)
    (target / "BUILT").write_text(f"{tarball.name}\n{api_url}\n")
    shutil.rmtree(work, ignore_errors=True)  # node_modules is ~500 MB; only dist/ is kept
    return dist


class _SpaHandler(SimpleHTTPRequestHandler):
    """Static files from dist/; any other path answers index.html (client-side routes)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_head(self):  # noqa: ANN201
        path = Path(self.translate_path(self.path))
        if not path.exists() or (path.is_dir() and not (path / "index.html").exists()):
            self.path = "/index.html"
        return super().send_head()


def serve_in_thread(*, dist: Path, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), functools.partial(_SpaHandler, directory=str(dist)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build or serve the real PHB frontend.")
    parser.add_argument("command", choices=["build", "serve"])
    parser.add_argument("--api-url", default=os.environ.get("VITE_API_BASE_URL", "http://localhost:8000"))
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=5173)
    args = parser.parse_args(argv)
    dist = build(api_url=args.api_url)
    print(f"frontend: built {dist}", flush=True)
    if args.command == "serve":
        server = serve_in_thread(dist=dist, host=args.host, port=args.port)
        print(f"frontend: http://{args.host}:{args.port} (API {args.api_url}); Ctrl-C stops", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
