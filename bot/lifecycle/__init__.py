"""Scripts as versioned data: versions, deployments, replay, experiments, synonyms.

`bot.lifecycle.api.ScriptLifecycle` is the one way in; the CLI and the web
workspace are two faces of it.
"""
