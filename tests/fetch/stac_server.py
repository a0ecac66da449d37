"""A local STAC API for the tests: the recorded responses of tests/data/stac, served by http.server in a thread.

The landing pages are the services' own (Earth Search v1, Planetary Computer), their URLs pointed
at this server. A search answers with the recorded FeatureCollection's shape, its features made from
the recorded items of the asked collection (one recorded item as the template of each scene the
test defines: its id, dates, cloud, baseline, box and asset URLs replaced). Files under ``root`` are
served with HTTP range requests, as GDAL's ``/vsicurl/`` reads COGs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "stac"
REAL_URLS = {"es": "https://earth-search.aws.element84.com/v1", "pc": "https://planetarycomputer.microsoft.com/api/stac/v1"}


def recorded(name: str) -> dict:
    """One recorded response of tests/data/stac."""
    return json.loads((DATA / name).read_text())


def _template(service: str, collection: str) -> dict:
    if collection == "modis-09Q1-061":
        return recorded("modis_09q1_061_item.json")
    if collection == "modis-13Q1-061":
        return recorded("modis_13q1_061_item.json")
    features = recorded("earth_search_search.json" if service == "es" else "pc_search_sentinel2.json")["features"]
    if service == "pc" and collection == "landsat-c2-l2":
        features = recorded("pc_items_landsat.json")["features"]
    return copy.deepcopy(next(f for f in features if f["collection"] == collection))


@dataclass
class FakeScene:
    """One item the server offers: the recorded template of its collection with these values."""

    service: str  # es or pc
    collection: str
    id: str
    start: dt.datetime
    end: dt.datetime | None = None  # a composite's last moment
    cloud: float | None = None
    baseline: str | None = None
    bbox: tuple[float, float, float, float] = (-180, -90, 180, 90)
    hrefs: dict[str, str] = field(default_factory=dict)  # asset key -> URL
    props: dict = field(default_factory=dict)  # other properties to set (a MODIS tile)

    def item(self) -> dict:
        """The item's GeoJSON: the template with this scene's values."""
        item = _template(self.service, self.collection)
        item["id"] = self.id
        props = item["properties"]
        if self.end is None:
            props["datetime"] = self.start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        else:
            props["datetime"] = None
            props["start_datetime"] = self.start.strftime("%Y-%m-%dT%H:%M:%SZ")
            props["end_datetime"] = self.end.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.cloud is not None:
            props["eo:cloud_cover"] = self.cloud
        props.update(self.props)
        if self.baseline is not None:
            props["s2:processing_baseline"] = self.baseline
        w, s, e, n = self.bbox
        item["bbox"] = [w, s, e, n]
        item["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
        for key, href in self.hrefs.items():
            item["assets"][key]["href"] = href
        return item


class StacServer:
    """The server: ``url('es')`` and ``url('pc')`` are the two endpoints; ``searches`` records each search's body."""

    def __init__(self, root: Path, scenes: list[FakeScene]) -> None:
        self.root, self.scenes, self.searches = root, scenes, []
        self.range_requests = 0
        self.delay = 0.0  # seconds each file read waits (a slow network, for cancelling)
        self.without_query = False  # answer as a catalogue without the query extension (its conformance class dropped)
        self.bytes_served: dict[str, int] = {}  # file name -> bytes sent (ranges add up)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, data: dict) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/geo+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0].rstrip("/")
                if path in ("/es", "/pc"):
                    return self._json(server.landing(path[1:]))
                return self._file(path, head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                return self._file(self.path.split("?")[0], head=True)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                service = self.path.strip("/").split("/")[0]
                server.searches.append((service, body))
                return self._json(server.search(service, body))

            def _file(self, path: str, head: bool) -> None:
                if server.delay:
                    import time

                    time.sleep(server.delay)
                file = (server.root / path.lstrip("/")).resolve()
                if not file.is_file() or server.root.resolve() not in file.parents:
                    self.send_error(404)
                    return
                data = file.read_bytes()
                m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
                if m:
                    server.range_requests += 1
                    start, end = int(m[1]), int(m[2]) if m[2] else len(data) - 1
                    chunk = data[start : end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(data)}")
                else:
                    chunk = data
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if not head:
                    server.bytes_served[file.name] = server.bytes_served.get(file.name, 0) + len(chunk)
                    self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, service: str) -> str:
        """The endpoint of ``es`` (Earth Search's landing page) or ``pc`` (the Planetary Computer's)."""
        return f"{self.base}/{service}"

    def landing(self, service: str) -> dict:
        """The recorded landing page with its URLs pointing here."""
        text = (DATA / ("earth_search_landing.json" if service == "es" else "pc_landing.json")).read_text()
        real = REAL_URLS[service]
        page = json.loads(text.replace(real + "/", self.url(service) + "/").replace(real, self.url(service)))
        if self.without_query:
            page["conformsTo"] = [c for c in page["conformsTo"] if not c.endswith("#query")]
        return page

    def search(self, service: str, body: dict) -> dict:
        """The recorded search response's shape with the matching scenes (collections, datetime, bbox, cloud)."""
        response = recorded("earth_search_search.json" if service == "es" else "pc_search_sentinel2.json")
        first, last = (dt.datetime.fromisoformat(v.replace("Z", "+00:00")) for v in body["datetime"].split("/"))
        box = body.get("bbox")
        if box is None and body.get("intersects"):
            xs = [p[0] for p in body["intersects"]["coordinates"][0]]
            ys = [p[1] for p in body["intersects"]["coordinates"][0]]
            box = [min(xs), min(ys), max(xs), max(ys)]
        cloud = ((body.get("query") or {}).get("eo:cloud_cover") or {}).get("lte")
        features = []
        for scene in self.scenes:
            start = scene.start.replace(tzinfo=dt.timezone.utc)
            end = (scene.end or scene.start).replace(tzinfo=dt.timezone.utc)
            if scene.service != service or scene.collection not in body.get("collections", []):
                continue
            if end < first or start > last:
                continue
            if box and (scene.bbox[2] < box[0] or scene.bbox[0] > box[2] or scene.bbox[3] < box[1] or scene.bbox[1] > box[3]):
                continue
            if cloud is not None and scene.cloud is not None and scene.cloud > cloud:
                continue
            features.append(scene.item())
        response["features"] = features[: body.get("limit", 100)]
        response["links"] = [link for link in response.get("links", []) if link.get("rel") != "next"]
        if "numberReturned" in response:
            response["numberReturned"] = response["numberMatched"] = len(response["features"])
            response["context"] = {"limit": body.get("limit", 100), "matched": len(features), "returned": len(features)}
        return response

    def __enter__(self) -> StacServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
