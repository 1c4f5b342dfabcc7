"""Steps that change the sampling grid: binning and resampling."""
