import xml.etree.ElementTree as ET

from bundler.measure.plot import cold_start_svg

NS = "{http://www.w3.org/2000/svg}"


def test_svg_has_a_row_per_variant_with_every_sample_and_the_ratio():
    svg = cold_start_svg(
        [("baseline", [400.0, 420.0, 410.0]), ("fat-layer", [100.0, 120.0]), ("pinned", [])],
        baseline="baseline",
    )
    root = ET.fromstring(svg)
    circles = root.findall(f"{NS}circle")
    assert len(circles) == 5
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "fat-layer" in texts and "baseline" in texts and "pinned" in texts
    assert "median 110 ms" in texts
    assert "0.27x baseline" in texts
    assert "no samples" in texts


def test_samples_are_placed_in_order_along_the_axis():
    root = ET.fromstring(cold_start_svg([("a", [10.0, 90.0])]))
    xs = [float(c.get("cx")) for c in root.findall(f"{NS}circle")]
    assert xs[0] < xs[1]
