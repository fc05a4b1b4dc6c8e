"""The workspace: server-rendered pages over the assessment, and the offline API docs."""
