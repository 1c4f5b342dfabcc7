"""Pure numpy / scikit-image helpers: pyramids, thumbnails, windowing."""
