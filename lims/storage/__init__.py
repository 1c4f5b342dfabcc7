"""Storage: the content-addressed blob store and the commit of dataset versions."""
