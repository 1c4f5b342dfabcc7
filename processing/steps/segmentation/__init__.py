"""Steps that turn images into masks, phases and labels."""
