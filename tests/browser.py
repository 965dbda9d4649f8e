"""Driving JupyterLab in headless Chromium for tests/test_browser.py.

``lab_server(folder)`` starts JupyterLab on a free port of 127.0.0.1 in ``folder`` and stops
it; ``Notebook`` opens one notebook in a browser page (its own, or a ``LabPage``, JupyterLab
loaded once for notebook after notebook) and does what a student does there (Run All, move a
slider with the mouse, click Validate), reading the notebook's state through JupyterLab's own
application object.
"""

import contextlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
SLOW = 300  # seconds the browser waits for the server before a step counts as failed
FIGURE_WAIT = 120  # seconds a view may take to show a new figure after a change

# Debian's package; Playwright's own browser download is not used.
CHROMIUM = os.environ.get("DLCOURSE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

# JupyterLab settings for a test browser: no news pop-up, and every cell in the page (no
# windowed rendering that drops cells scrolled out of view).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab_server(folder, env=None, log=None):
    """JupyterLab serving ``folder``; yields its base URL with the token as (url, token)."""
    folder = Path(folder)
    settings = folder / ".lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token = secrets.token_hex(16)
    command = [
        str(BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}", "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server_env = dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",  # nbgrader (Validate) needs the venv's tools
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(folder / ".lab-workspaces"),
        **(env or {}),
    )
    server_env.pop("NBGRADER_EXECUTION", None)
    log = open(log or folder / "jupyterlab.log", "w")  # closed when the server stops
    process = None
    try:
        for _ in range(3):  # a port found free can be taken by a parallel test before the server binds it
            port = free_port()
            process = subprocess.Popen([*command, f"--ServerApp.port={port}"], cwd=folder, env=server_env,
                                       stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            if _answers(process, f"{url}/api/status?token={token}"):
                break
            process.wait()
        else:
            raise RuntimeError(f"JupyterLab did not start; see {log.name}")
        yield url, token
    finally:
        if process is not None:
            process.terminate()  # the server shuts its kernels down on SIGTERM, in a second or two
            try:
                # Now and then it hangs after "Shutting down 9 extensions" (as in jupyterlab/jupyterlab#10442;
                # once in four suite runs here, 30 s lost): killed, its kernels stop with it (ipykernel
                # watches its parent).
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _answers(process, url, seconds=120):
    """Whether the server started by ``process`` answers at ``url``; False if it exited (its
    port was taken: something else may answer there, even with garbage)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return process.poll() is None
        except (OSError, http.client.HTTPException):
            if process.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not answer within two minutes") from None
            time.sleep(0.5)


# JavaScript run in the page: the notebook's state as JupyterLab's model holds it.
_PANEL = "window.jupyterapp.shell.currentWidget"
_KERNEL_IDLE = f"""() => {{
  const p = window.jupyterapp && {_PANEL};
  const k = p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}}"""
_PROGRESS = f"""() => {{
  const p = {_PANEL};
  const code = p.content.widgets.filter(c => c.model.type === 'code');
  return [p.sessionContext.session.kernel.status, code.filter(c => c.model.executionCount).length,
          code.length && !!code[code.length - 1].model.executionCount];
}}"""
_APP_READY = "() => !!window.jupyterapp && !!document.querySelector('#jp-main-dock-panel')"
_OPEN = "path => { window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'}); }"
_OPENED = f"path => {{ const p = {_PANEL}; return !!p && !!p.context && p.context.path === path; }}"
_CLOSE = """async () => {
  for (const w of Array.from(window.jupyterapp.shell.widgets('main'))) {
    if (!w.sessionContext) continue;  // every notebook open, even one whose opening failed half-way
    try { await w.sessionContext.shutdown(); } catch (e) {}
    w.context.model.dirty = false;
    w.close();
  }
}"""
_CELLS = f"""() => {{
  const m = {_PANEL}.content.model;
  const cells = [];
  for (let i = 0; i < m.cells.length; i++) {{
    const c = m.cells.get(i);
    if (c.type !== 'code') continue;
    const outputs = [];
    for (let j = 0; j < c.outputs.length; j++) outputs.push(c.outputs.get(j).toJSON());
    cells.push({{index: i, count: c.executionCount, tags: c.getMetadata('tags') || [],
                 nbgrader: c.getMetadata('nbgrader') || {{}}, source: c.sharedModel.getSource(), outputs}});
  }}
  return cells;
}}"""


class LabPage:
    """JupyterLab loaded once in a browser page, in which notebooks open one after the other
    (``Notebook(..., lab=...)``), as a student works through the sheets in one JupyterLab: the
    application (some 90 scripts, about 2.5 s of CPU) boots once instead of once per notebook.
    Console errors go to the notebook open at the time; those of the boot, or of a moment
    with no notebook open, to every notebook opened afterwards."""

    def __init__(self, browser, url, token):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _generous_waits(self.page)
        self.current = None  # the Notebook open in the page
        self.errors = []  # errors while no notebook was open (the boot's among them)
        self.page.on("console", lambda m: m.type == "error" and self._sink().append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self._sink().append(f"page error: {e}"))
        self.page.goto(f"{url}/lab/workspaces/test-{secrets.token_hex(4)}?reset&token={token}")
        self.page.wait_for_function(_APP_READY)

    def _sink(self):
        return self.errors if self.current is None else self.current.errors

    def close(self):
        if self.current is not None:
            self.current.close()
        self.page.close()


def _generous_waits(page):
    # Generous waits: nbgrader's Validate runs inside the server's event loop and blocks it
    # (jupyter/nbgrader#1232), so on a loaded machine a page can wait minutes for the server.
    page.set_default_timeout(SLOW * 1000)
    page.set_default_navigation_timeout(SLOW * 1000)


class Notebook:
    """One notebook open in JupyterLab, with its own kernel: in a page of its own (fresh
    workspace), or with ``lab`` (a LabPage) in that page, where it first closes the notebook
    open there; with ``path=None`` JupyterLab without a notebook, in a page of its own."""

    def __init__(self, browser, url, token, path, artifacts, lab=None):
        self.artifacts = Path(artifacts)
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.lab = lab
        if lab is not None:
            assert path, "a LabPage opens notebooks"
            if lab.current is not None:
                lab.current.close()
            self.page, self.errors = lab.page, list(lab.errors)
            lab.current = self
            self.page.evaluate(_OPEN, path)
            self.page.wait_for_function(_OPENED, arg=path)
            self.page.wait_for_function(_KERNEL_IDLE)
            return
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _generous_waits(self.page)
        self.errors = []  # browser console errors and uncaught page errors
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        workspace = f"test-{secrets.token_hex(4)}"
        tree = f"/tree/{path}" if path else ""
        self.page.goto(f"{url}/lab/workspaces/{workspace}{tree}?reset&token={token}")
        self.page.wait_for_function(_KERNEL_IDLE if path else _APP_READY)

    def screenshot(self, name, element=None):
        path = self.artifacts / f"{name}.png"
        (element or self.page).screenshot(path=path)
        return path

    def menu(self, menu, item):
        self.page.click(f"li.lm-MenuBar-item:has-text('{menu}')")
        self.page.click(f"li.lm-Menu-item:has-text('{item}')")

    def run_all(self, timeout=900, stalled=30):
        """Run -> Run All Cells; return when the last code cell has run and the kernel is
        idle, or when the kernel has been idle for ``stalled`` seconds without another cell
        running (Run All stopped). (JupyterLab blanks the [*] prompts of queued cells once a
        cell fails, although the kernel still runs them, so the prompts cannot tell.)"""
        self.menu("Run", "Run All Cells")
        deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
        while time.monotonic() < deadline:
            status, executed, finished = self.page.evaluate(_PROGRESS)
            if status == "idle" and finished:
                return
            if (status, executed) != last:
                last, since = (status, executed), time.monotonic()
            elif status == "idle" and executed and time.monotonic() - since > stalled:
                return
            time.sleep(0.25)
        raise TimeoutError(f"Run All did not finish within {timeout} s")

    def cells(self):
        return self.page.evaluate(_CELLS)

    def views(self):
        """The slider views: output areas that hold a widget with controls and a figure."""
        return self.page.locator(".jp-OutputArea-output .widget-vbox:has(> .widget-vbox > .widget-image)")

    def validate(self, timeout=SLOW):
        """Click the toolbar's Validate button; return the text of nbgrader's result dialog."""
        deadline = time.monotonic() + timeout
        self.page.click(".jp-NotebookPanel-toolbar >> text=Validate")
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=timeout * 1000)  # the dialog opens when the server has answered
        while "Validation Results" not in dialog.inner_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        return dialog

    def close(self):
        if self.lab is None:
            with contextlib.suppress(Exception):
                self.page.evaluate(f"() => {_PANEL}.sessionContext.shutdown()")
            self.page.close()
        elif self.lab.current is self:  # its kernel shut down, the notebook closed
            try:
                self.page.evaluate(_CLOSE)  # unsaved, as a student who leaves without saving
                self.page.wait_for_function("() => !document.querySelector('.jp-NotebookPanel')")
            finally:
                self.lab.current = None


def image_of(view):
    """The figure of a slider view as its PNG data URL (None while it is being redrawn)."""
    image = view.locator("img.widget-image")
    return image.first.get_attribute("src") if image.count() else None


def ink(view):
    """The share of a view's figure that is not white (0 for a blank figure; a drawn one has
    about a quarter)."""
    return view.evaluate("""view => {
      const image = view.querySelector('img.widget-image');
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let inked = 0;
      for (let i = 0; i < pixels.length; i += 4) inked += pixels[i] + pixels[i + 1] + pixels[i + 2] < 750;
      return inked / (pixels.length / 4);
    }""")


def is_disabled(control):
    return control.locator(".noUi-target[disabled], button:disabled").count() > 0


def change_control(page, view, control, button=None, timeout=FIGURE_WAIT):
    """Change one control of a view with real mouse input: drag a slider's handle, or click
    ``button`` of a row of toggle buttons. Returns (what changed, seconds until the figure
    changed, or None if it did not change within ``timeout`` seconds)."""
    from playwright.sync_api import TimeoutError

    before = image_of(view)
    if button is not None:
        label = f"{button.inner_text()!r} clicked"
        start = time.perf_counter()
        button.click()
    else:
        handle, track = control.locator(".noUi-handle"), control.locator(".noUi-target")
        h, t = handle.bounding_box(), track.bounding_box()
        x, y = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
        target = t["x"] + (0.25 if x > t["x"] + t["width"] / 2 else 0.75) * t["width"]
        old = control.locator(".widget-readout").inner_text()
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(target, y, steps=8)
        start = time.perf_counter()
        page.mouse.up()
        label = f"{old} -> {control.locator('.widget-readout').inner_text()}"
    try:
        page.wait_for_function(
            """([view, before]) => {
                 const img = view.querySelector('img.widget-image');
                 return img && img.complete && img.naturalWidth > 0 && img.src !== before;
               }""",
            arg=[view.element_handle(), before], timeout=timeout * 1000, polling="raf",
        )
    except TimeoutError:
        return label, None
    return label, time.perf_counter() - start
