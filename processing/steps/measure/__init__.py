"""Measurements that produce tables and scalars."""
