"""Digits: the reference distributed TensorFlow project of ComputeGrant."""
