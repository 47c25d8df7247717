"""The explorer in a real browser: Debian's Chromium through chromedriver (selenium), headless.

Skipped only where no Chromium is installed; CI installs it (.ci/run). Set
TINYGRAD_RNN_SCREENSHOTS=DIR to keep the screenshots (docs/img/explorer.png comes from here).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_rnn import viz
from tinygrad_rnn.viz.example import explore_unrolled

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no Chromium here: apt-get install chromium chromium-driver (CI always has it)")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("Chromium is installed but its Python driver is not: pip install selenium "
                    "(.ci/run installs it)")

    os.environ["SE_OFFLINE"] = "true"  # selenium manager must never download a driver
    profile = tempfile.mkdtemp(prefix="tgrnn-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.get("about:blank")  # the browser's own start-up pages load before this
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page_50(tmp_path_factory):
    page, _ = explore_unrolled(50, hidden=4, train_steps=8, every=2, influence_steps=50)
    return page, page.save(tmp_path_factory.mktemp("explorer") / "explorer_50.html")


def open_page(driver, path: Path) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    driver.execute_script("return document.readyState")


def requests_made(driver, page: Path) -> list[str]:
    """Every request the page's document made (Chromium's own internal pages excluded)."""
    urls, uri = [], page.resolve().as_uri()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        if message["params"].get("documentURL") == uri or not url.startswith("chrome://"):
            urls.append(url)
    return urls


def test_page_loads_without_console_errors_or_network_requests(browser, page_50):
    _, path = page_50
    open_page(browser, path)
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == [], f"console: {errors}"
    requests = requests_made(browser, path)
    assert requests == [path.resolve().as_uri()], f"only the page itself may load: {requests}"
    resources = browser.execute_script("return performance.getEntriesByType('resource').length")
    assert resources == 0


def test_overview_has_one_element_per_time_step_and_every_parameter(browser, page_50):
    page, path = page_50
    open_page(browser, path)
    steps = browser.execute_script(
        "return [...document.querySelectorAll('#overview-strip [data-step]')]"
        ".map(e => +e.getAttribute('data-step'))")
    assert steps == list(range(50))
    names = browser.execute_script(
        "return [...document.querySelectorAll('[data-param]')].map(e => e.dataset.param)")
    assert sorted(names) == ["U", "V", "W", "b", "c"]


def drawn(driver) -> list[dict]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#detail [data-op]')].map(e => ({op: e.dataset.op,"
        " step: +e.dataset.nodeStep, grad: e.dataset.gradL2, node: e.dataset.node,"
        " inside: e.classList.contains('in')}))")


def test_brushing_a_range_expands_exactly_that_ranges_ops(browser, page_50):
    from selenium.webdriver.common.action_chains import ActionChains

    page, path = page_50
    open_page(browser, path)
    strip = browser.find_element("css selector", "#overview-strip")
    width = strip.size["width"]
    a, b = 10, 14
    start, end = ((t + 0.5) / 50 * width - width / 2 for t in (a, b))
    ActionChains(browser).move_to_element_with_offset(strip, int(start), 0).click_and_hold() \
        .move_to_element_with_offset(strip, int(end), 0).release().perform()
    inside = [n for n in drawn(browser) if n["inside"]]
    nodes = page.data["nodes"]
    expected = sorted(nodes["id"][i] for i, t in enumerate(nodes["step"]) if a <= t <= b)
    assert sorted(n["node"] for n in inside) == expected
    assert {n["step"] for n in inside} == set(range(a, b + 1))
    for n in drawn(browser):
        assert n["grad"] == "none" or float(n["grad"]) >= 0, n
    i = nodes["id"].index(inside[0]["node"])
    assert float(inside[0]["grad"]) == pytest.approx(nodes["l2"][i])


def test_hovering_a_node_or_a_step_shows_its_tooltip(browser, page_50):
    from selenium.webdriver.common.action_chains import ActionChains

    _, path = page_50
    open_page(browser, path)
    node = browser.find_element("css selector", "#detail [data-op='Tanh']")
    ActionChains(browser).move_to_element(node).perform()
    tip = browser.find_element("id", "tooltip")
    assert tip.is_displayed()
    text = tip.text
    assert text.startswith("Tanh") and "scope: t=" in text and "L2" in text and "value: min" in text
    cell = browser.find_element("css selector", "#overview-strip [data-step='7']")
    ActionChains(browser).move_to_element(cell).perform()
    assert tip.text.startswith("t=7")


def test_search_and_norm_switch_update_the_page(browser, page_50):
    from selenium.webdriver.support.ui import Select

    _, path = page_50
    open_page(browser, path)
    browser.find_element("id", "search").send_keys("addmm")
    matched = browser.execute_script(
        "return [...document.querySelectorAll('#detail .node.match')].map(e => e.dataset.op)")
    assert matched and set(matched) == {"Addmm"}
    assert "ops match" in browser.find_element("id", "matches").text
    fills = ("return [...document.querySelectorAll('#overview-strip [data-step]')]"
             ".map(e => e.getAttribute('fill'))")
    before, legend = browser.execute_script(fills), browser.find_element("id", "legend").text
    Select(browser.find_element("id", "norm")).select_by_value("max")
    after = browser.execute_script(fills)
    assert sum(x != y for x, y in zip(before, after)) > 10, "max |g| must recolour the steps"
    assert browser.find_element("id", "legend").text != legend, "the scale follows the norm"


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    keep = os.environ.get("TINYGRAD_RNN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def test_screenshot_is_not_blank(browser, page_50, tmp_path):
    from matplotlib.image import imread

    _, path = page_50
    open_page(browser, path)
    browser.execute_script("window.explorer.expand(44, 49)")
    image = imread(screenshot(browser, "explorer.png", tmp_path))
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert image.shape[0] > 500 and len(colours) > 50, f"{len(colours)} colours: blank?"
    white = np.all(image[..., :3] > 0.97, axis=-1).mean()
    assert white < 0.9, f"{white:.0%} of the screenshot is white"


@pytest.mark.parametrize("steps", [2000, 10000])
def test_long_pages_load_fast_and_show_every_step(browser, steps, tmp_path):
    _, E = viz.elman_example(steps=steps, hidden=2)
    path = viz.explore(E).save(tmp_path / f"explorer_{steps}.html")
    limit = 5e6 if steps == 2000 else 12e6  # the budget is 5 MB at 2,000 steps
    assert path.stat().st_size < limit, f"{path.stat().st_size / 1e6:.1f} MB"
    open_page(browser, path)
    timing = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd")
    count = browser.execute_script(
        "return document.querySelectorAll('#overview-strip [data-step]').length")
    assert count == steps
    if steps == 2000:
        assert timing < 3000, f"2,000 steps took {timing:.0f} ms to load"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_a_graph_without_time_steps_draws_whole(browser, tmp_path):
    from tinygrad_rnn import Tensor

    x = Tensor(np.ones(3), requires_grad=True)
    y = ((x * 2.0).tanh() * x).sum()
    y.backward(keep_node_grads=True)
    path = viz.explore(y).save(tmp_path / "plain.html")
    open_page(browser, path)
    ops = sorted(n["op"] for n in drawn(browser))
    assert ops == ["Mul", "Mul", "Sum", "Tanh", "param"], ops
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_nan_and_inf_show_as_their_own_state(browser, tmp_path):
    with np.errstate(all="ignore"):
        model, E = viz.elman_example(steps=2000, hidden=8, nonlinearity="relu",
                                     spectral_radius=1.5)
        path = viz.explore(E, params=model).save(tmp_path / "nan.html")
    open_page(browser, path)
    browser.execute_script("window.explorer.expand(100, 102)")
    grads = {n["grad"] for n in drawn(browser) if n["inside"]}
    assert grads == {"NaN"}, grads
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_wheel_zooms_and_drag_pans(browser, page_50):
    from selenium.webdriver.common.action_chains import ActionChains

    _, path = page_50
    open_page(browser, path)
    box = "return document.getElementById('{}').getAttribute('viewBox')"
    wheel = ("const e = document.getElementById(arguments[0]), r = e.getBoundingClientRect();"
             "e.dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: r.left + r.width"
             " / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true}));")
    before = browser.execute_script(box.format("overview-strip"))
    browser.execute_script(wheel, "overview-strip")
    zoomed = browser.execute_script(box.format("overview-strip"))
    assert float(zoomed.split()[2]) < float(before.split()[2]), (before, zoomed)
    ActionChains(browser).double_click(
        browser.find_element("id", "overview-strip")).perform()
    assert browser.execute_script(box.format("overview-strip")) == before, "reset"
    detail = browser.execute_script(box.format("detail-graph"))
    browser.execute_script(wheel, "detail-graph")
    assert browser.execute_script(box.format("detail-graph")) != detail, "the graph zooms"
    moved = browser.execute_script(box.format("detail-graph"))
    graph = browser.find_element("id", "detail-graph")
    ActionChains(browser).move_to_element_with_offset(graph, 10, 150).click_and_hold() \
        .move_by_offset(-200, 0).release().perform()
    after = browser.execute_script(box.format("detail-graph"))
    assert float(after.split()[0]) > float(moved.split()[0]), "dragging left pans right"
