"""Normalised delivery data: pull requests, commits, deployments, incidents and pipeline runs."""
