/* ctvault viewers over the IIIF Image API (no inline script: configuration comes from the
 * data-attributes of #viewer).
 *
 * 2D image: one OpenSeadragon viewer on "<version>".
 * Volume: three OpenSeadragon viewers on "<version>~z~<i>" (XY), "~y~" (XZ) and "~x~" (YZ);
 * a shared cursor (z, y, x) drives the slices: clicking in a pane moves the other two planes
 * to that point, and each pane draws the cursor as a crosshair.
 * Window/level: tiles are requested with ?min=&max= (a ctvault extension) once applied;
 * "Auto" drops them (the server's 0.5-99.5 % window, or 8-bit data as stored).
 *
 * Signed tile links: each info.json answer's id is a short-lived signed base URI for its
 * version (lims/api/tilelinks.py), which nginx can serve tiles from without asking ctvault.
 * Tile URLs use the newest link of their version, fetched again well before it expires;
 * until one arrives (or without one) tiles go to the plain IIIF URLs, checked by ctvault.
 *
 * Extension point, label overlays: a pane can carry a second layer (Pane.setOverlay) drawn
 * above the image with its own opacity; #viewer's data-overlay names the overlay's IIIF id
 * pattern (with the placeholder where the image id goes) once label rendering exists.
 */
(function () {
  "use strict";

  var root = document.getElementById("viewer");
  if (!root || !window.OpenSeadragon) { return; }
  var OSD = window.OpenSeadragon;
  var data = root.dataset;
  var cfg = {
    kind: data.kind,
    version: data.version,
    base: data.iiifBase,
    valueUrl: data.valueUrl,
    placeholder: data.placeholder,
    shape: JSON.parse(data.shape || "[]"),
    voxel: JSON.parse(data.voxelSize || "null"),
    unit: data.unit || "",
    images: data.osdImages,
    overlay: data.overlay || ""  // version id of a label image drawn over this one
  };
  var isVolume = cfg.kind === "volume";
  // For each pane axis: which volume axes run across (h) and down (v) the plane.
  var AXES = { z: { h: "x", v: "y" }, y: { h: "x", v: "z" }, x: { h: "y", v: "z" }, "": { h: "x", v: "y" } };
  var SIZE = isVolume ? { z: cfg.shape[0], y: cfg.shape[1], x: cfg.shape[2] } : { y: cfg.shape[0], x: cfg.shape[1] };
  var state = {
    cursor: { z: Math.floor((SIZE.z || 1) / 2), y: Math.floor(SIZE.y / 2), x: Math.floor(SIZE.x / 2) },
    window: null,
    overlayOpacity: 0.5
  };
  var panes = [];
  var links = {};  // version id -> signed base URI prefix (ends with "/")
  var renewing = false;
  var LINK_PATH = /\/iiif\/3\/s\/(\d+)\/[^/]+\/[^/]+\/$/;
  var readout = document.getElementById("viewer-readout");

  function absolute(url) { return new URL(url, window.location.href).href; }
  function serviceUrl(imageId) { return absolute(cfg.base.split(cfg.placeholder).join(imageId)); }
  function windowQuery() {
    if (!state.window) { return ""; }
    return "?min=" + encodeURIComponent(state.window[0]) + "&max=" + encodeURIComponent(state.window[1]);
  }
  // Keep the signed base URI an info.json answer gives for imageId (its version's link).
  function rememberLink(info, imageId) {
    var id = info && typeof info.id === "string" ? info.id : "";
    if (id.slice(-imageId.length) !== imageId) { return; }
    var prefix = id.slice(0, id.length - imageId.length);
    if (LINK_PATH.test(new URL(prefix, window.location.href).pathname)) {
      links[imageId.split("~")[0]] = prefix;
    }
  }
  // A tile URL through the version's current link, if there is one.
  function linked(url, imageId) {
    var prefix = links[imageId.split("~")[0]];
    var plain = serviceUrl(imageId);
    if (!prefix || url.indexOf(plain) !== 0) { return url; }
    return absolute(prefix + imageId) + url.slice(plain.length);
  }
  function fetchInfo(imageId) {
    return window.fetch(serviceUrl(imageId) + "/info.json", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (info) { rememberLink(info, imageId); return info; });
  }
  // Seconds until the links should be renewed: a third of the shortest one's life left.
  function renewalDelay() {
    var now = Date.now() / 1000;
    var delay = 60;
    Object.keys(links).forEach(function (version) {
      var found = LINK_PATH.exec(new URL(links[version], window.location.href).pathname);
      if (found) { delay = Math.min(delay, (parseInt(found[1], 10) - now) / 3); }
    });
    return Math.max(5, delay);
  }
  function renewLinks() {
    var asked = {};
    panes.forEach(function (pane) {
      [pane.imageId(), pane.overlayId || ""].forEach(function (imageId) {
        if (imageId && !asked[imageId.split("~")[0]]) {
          asked[imageId.split("~")[0]] = true;
          fetchInfo(imageId).catch(function () { /* plain URLs keep working */ });
        }
      });
    });
    window.setTimeout(renewLinks, renewalDelay() * 1000);
  }
  function unitLabel(unit) { return unit === "um" || unit === "µm" ? "µm" : unit; }
  function voxelSize(axis) {
    if (!cfg.voxel) { return null; }
    var order = isVolume ? ["z", "y", "x"] : ["y", "x"];
    var size = cfg.voxel[order.indexOf(axis)];
    return typeof size === "number" && size > 0 ? size : null;
  }

  function Pane(section, axis) {
    this.axis = axis;
    this.section = section;
    this.dims = AXES[axis];
    this.info = null;
    this.shownKey = null;
    this.canvas = section.querySelector(".pane-crosshair");
    this.scalebar = section.querySelector(".scalebar");
    this.viewer = OSD({
      element: section.querySelector(".pane-osd"),
      prefixUrl: cfg.images,
      drawer: "canvas",
      showNavigator: false,
      showRotationControl: false,
      showFullPageControl: !isVolume,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      maxZoomPixelRatio: 16,
      visibilityRatio: 0.3,
      imageSmoothingEnabled: false,
      preserveImageSizeOnResize: true,
      immediateRender: false
    });
    var self = this;
    ["animation", "update-viewport", "resize", "open", "add-item"].forEach(function (name) {
      self.viewer.addHandler(name, function () { self.redraw(); });
    });
    if (isVolume) {
      this.viewer.addHandler("canvas-click", function (event) {
        if (!event.quick) { return; }
        event.preventDefaultAction = true;
        var point = self.imagePoint(event.position);
        if (point) { self.moveCursor(point); }
      });
    }
    var element = this.viewer.element;
    element.addEventListener("mousemove", function (event) {
      var rect = element.getBoundingClientRect();
      var point = self.imagePoint(new OSD.Point(event.clientX - rect.left, event.clientY - rect.top));
      if (point) { showValue(self, point); }
    });
  }

  Pane.prototype.imageId = function () {
    return this.axis ? cfg.version + "~" + this.axis + "~" + state.cursor[this.axis] : cfg.version;
  };

  // The image layer shown last (the label overlay, if any, is not it).
  Pane.prototype.item = function () {
    var world = this.viewer.world;
    for (var i = world.getItemCount() - 1; i >= 0; i -= 1) {
      if (world.getItemAt(i) !== this.overlayItem) { return world.getItemAt(i); }
    }
    return null;
  };

  // Plane pixel under an element position, or null outside the image.
  Pane.prototype.imagePoint = function (position) {
    var item = this.item();
    if (!item) { return null; }
    var p = item.viewerElementToImageCoordinates(position);
    var h = Math.floor(p.x);
    var v = Math.floor(p.y);
    if (h < 0 || v < 0 || h >= SIZE[this.dims.h] || v >= SIZE[this.dims.v]) { return null; }
    return { h: h, v: v };
  };

  Pane.prototype.voxel = function (point) {
    var voxel = { z: state.cursor.z, y: state.cursor.y, x: state.cursor.x };
    voxel[this.dims.h] = point.h;
    voxel[this.dims.v] = point.v;
    return voxel;
  };

  Pane.prototype.moveCursor = function (point) {
    state.cursor[this.dims.h] = point.h;
    state.cursor[this.dims.v] = point.v;
    syncSliders();
    panes.forEach(function (pane) { pane.show(); pane.redraw(); });
  };

  Pane.prototype.tileSource = function (imageId, asOverlay) {
    var info = JSON.parse(JSON.stringify(this.info));
    info.id = serviceUrl(imageId);
    var url = info.id + "/info.json";
    var source = new OSD.IIIFTileSource(OSD.IIIFTileSource.prototype.configure(info, url, null));
    var plain = source.getTileUrl.bind(source);
    if (asOverlay) {
      // Label colours come as PNG with a transparent background.
      source.getTileUrl = function (level, x, y) {
        return linked(plain(level, x, y), imageId).replace(/default\.jpg$/, "default.png");
      };
      return source;
    }
    var query = windowQuery();
    source.getTileUrl = function (level, x, y) { return linked(plain(level, x, y), imageId) + query; };
    return source;
  };

  // Show the current slice (and window): the new layer replaces the old once fully loaded,
  // so zoom and pan are kept and the pane never flashes empty.
  Pane.prototype.show = function () {
    var self = this;
    if (!this.info) { return; }
    var imageId = this.imageId();
    var key = imageId + windowQuery();
    if (key === this.shownKey) { return; }
    this.shownKey = key;
    var viewer = this.viewer;
    var first = viewer.world.getItemCount() === 0;
    viewer.addTiledImage({
      tileSource: this.tileSource(imageId),
      success: function (event) {
        var item = event.item;
        if (first) { viewer.viewport.goHome(true); }
        var done = function () {
          if (self.shownKey !== key) { viewer.world.removeItem(item); return; }
          for (var i = viewer.world.getItemCount() - 1; i >= 0; i -= 1) {
            var other = viewer.world.getItemAt(i);
            if (other !== item && other !== self.overlayItem) { viewer.world.removeItem(other); }
          }
          self.redraw();
          self.setOverlay(cfg.overlay ? imageId.split(cfg.version).join(cfg.overlay) : "");
        };
        if (item.getFullyLoaded()) { done(); } else { item.addOnceHandler("fully-loaded-change", done); }
      },
      error: function (event) { problem("could not open " + imageId + ": " + event.message); }
    });
  };

  // Extension point: a label layer above the image (IIIF id of the overlay's plane).
  Pane.prototype.setOverlay = function (imageId) {
    var self = this;
    if (!imageId || !this.info || imageId === this.overlayId) { return; }
    this.overlayId = imageId;
    var previous = this.overlayItem;
    var add = function () {
      if (self.overlayId !== imageId) { return; }
      self.viewer.addTiledImage({
        tileSource: self.tileSource(imageId, true),
        opacity: state.overlayOpacity,
        success: function (event) {
          if (self.overlayId !== imageId) { self.viewer.world.removeItem(event.item); return; }
          self.overlayItem = event.item;
          if (previous) { self.viewer.world.removeItem(previous); }
        },
        error: function (event) { problem("could not open the overlay " + imageId + ": " + event.message); }
      });
    };
    // The overlay is another version: it needs its own link (and its opening is audited).
    if (links[imageId.split("~")[0]]) { add(); } else { fetchInfo(imageId).then(add, add); }
  };

  Pane.prototype.redraw = function () {
    this.drawCrosshair();
    this.drawScalebar();
  };

  Pane.prototype.drawCrosshair = function () {
    if (!this.canvas) { return; }
    var item = this.item();
    var canvas = this.canvas;
    var width = canvas.clientWidth;
    var height = canvas.clientHeight;
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    var context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    if (!item) { return; }
    var at = item.imageToViewerElementCoordinates(
      new OSD.Point(state.cursor[this.dims.h] + 0.5, state.cursor[this.dims.v] + 0.5));
    context.strokeStyle = "rgba(255, 210, 0, 0.8)";
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(Math.round(at.x) + 0.5, 0);
    context.lineTo(Math.round(at.x) + 0.5, height);
    context.moveTo(0, Math.round(at.y) + 0.5);
    context.lineTo(width, Math.round(at.y) + 0.5);
    context.stroke();
  };

  Pane.prototype.drawScalebar = function () {
    var size = voxelSize(this.dims.h);
    var item = this.item();
    if (!this.scalebar || !item || !size) { return; }
    var a = item.imageToViewerElementCoordinates(new OSD.Point(0, 0));
    var b = item.imageToViewerElementCoordinates(new OSD.Point(1, 0));
    var pixelsPerVoxel = b.x - a.x;
    if (!(pixelsPerVoxel > 0)) { return; }
    var physical = 120 / pixelsPerVoxel * size;
    var magnitude = Math.pow(10, Math.floor(Math.log10(physical)));
    var nice = [5, 2, 1].map(function (m) { return m * magnitude; }).filter(function (v) { return v <= physical; })[0] || magnitude;
    this.scalebar.hidden = false;
    this.scalebar.querySelector(".scalebar-bar").style.width = Math.round(nice / size * pixelsPerVoxel) + "px";
    var text = nice >= 1000 && unitLabel(cfg.unit) === "µm" ? (nice / 1000) + " mm" : nice + " " + unitLabel(cfg.unit);
    this.scalebar.querySelector(".scalebar-label").textContent = text;
  };

  function problem(message) {
    readout.textContent = message;
    readout.classList.add("viewer-problem");
  }

  var valueTimer = null;
  var valueRequest = 0;
  function showValue(pane, point) {
    var voxel = pane.voxel(point);
    var where = isVolume ? "z " + voxel.z + "  y " + voxel.y + "  x " + voxel.x : "y " + voxel.y + "  x " + voxel.x;
    readout.textContent = where;
    window.clearTimeout(valueTimer);
    valueTimer = window.setTimeout(function () {
      var ticket = ++valueRequest;
      var url = absolute(cfg.valueUrl.split(cfg.placeholder).join(pane.imageId())) + "?x=" + point.h + "&y=" + point.v;
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (body && ticket === valueRequest) { readout.textContent = where + "  value " + JSON.stringify(body.value); }
        })
        .catch(function () { /* the position is still shown */ });
    }, 80);
  }

  function syncSliders() {
    panes.forEach(function (pane) {
      if (!pane.axis) { return; }
      var slider = document.getElementById("slice-" + pane.axis);
      slider.value = String(state.cursor[pane.axis]);
      document.getElementById("slice-" + pane.axis + "-value").textContent = slider.value + " / " + (SIZE[pane.axis] - 1);
    });
  }

  function setupSliders() {
    var timers = {};
    document.querySelectorAll(".slice-slider").forEach(function (slider) {
      var axis = slider.dataset.axis;
      slider.max = String(SIZE[axis] - 1);
      slider.addEventListener("input", function () {
        state.cursor[axis] = parseInt(slider.value, 10);
        syncSliders();
        panes.forEach(function (pane) { pane.redraw(); });
        window.clearTimeout(timers[axis]);
        timers[axis] = window.setTimeout(function () {
          panes.forEach(function (pane) { if (pane.axis === axis) { pane.show(); } });
        }, 60);
      });
    });
    syncSliders();
  }

  function setupWindow() {
    var form = document.getElementById("viewer-window");
    var low = document.getElementById("window-min");
    var high = document.getElementById("window-max");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var a = parseFloat(low.value);
      var b = parseFloat(high.value);
      if (!isFinite(a) || !isFinite(b) || a >= b) { problem("the window needs numbers with min below max"); return; }
      state.window = [a, b];
      panes.forEach(function (pane) { pane.show(); });
    });
    document.getElementById("window-auto").addEventListener("click", function () {
      state.window = null;
      low.value = data.windowLow;
      high.value = data.windowHigh;
      panes.forEach(function (pane) { pane.show(); });
    });
    var opacity = document.getElementById("overlay-opacity");
    opacity.addEventListener("input", function () {
      state.overlayOpacity = parseInt(opacity.value, 10) / 100;
      panes.forEach(function (pane) { if (pane.overlayItem) { pane.overlayItem.setOpacity(state.overlayOpacity); } });
    });
  }

  // One info.json per pane (the first one of the version is the audited opening); every
  // other slice of that axis has the same info with another id.
  function start() {
    document.querySelectorAll(".viewer-pane").forEach(function (section) {
      panes.push(new Pane(section, section.dataset.axis || ""));
    });
    setupSliders();
    setupWindow();
    panes.forEach(function (pane) {
      fetchInfo(pane.imageId())
        .then(function (info) {
          pane.info = info;
          pane.show();
          if (!renewing) { renewing = true; window.setTimeout(renewLinks, renewalDelay() * 1000); }
          if (cfg.overlay) {
            document.getElementById("overlay-controls").hidden = false;
          }
        })
        .catch(function (error) { problem("the image service did not answer: " + error.message); });
    });
  }

  start();
}());
