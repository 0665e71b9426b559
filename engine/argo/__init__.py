"""Weft workflows and Argo Workflows: ``export`` writes an Argo Workflow of a Weft workflow."""
