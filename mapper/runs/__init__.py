"""Making the AIMS run: answers for the tools that drive work (pipelines, procurement).

`gates` turns the assessment's gate statuses into allow/deny decisions. Nothing here computes a
verdict of its own: every answer is read off `mapper.rules.assessment.assess`.
"""
