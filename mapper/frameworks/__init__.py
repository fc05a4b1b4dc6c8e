"""Frameworks and auditor outputs, built on the one assessment (mapper.rules.assessment).

- `soa`: the Statement of Applicability (ISO/IEC 42001 6.1.3 d): per Annex A control its current
  decision, justification, implementation, latest evidence and status; the status is read
  from the assessment's SOA findings, never recomputed.
- `crosswalk`: other frameworks (NIST AI RMF 1.0, the EU AI Act) as SKOS concept schemes and
  the SSSOM mapping sets between them and ISO/IEC 42001, loaded into the store as typed edges;
  the coverage of a framework's requirements through those mappings.
- `oscal`: OSCAL assessment results and POA&M written from the assessment, OSCAL catalogs read
  as framework schemes; validated with compliance-trestle's models.
- `trend`: findings per clause and rule family at a series of as-of dates; `diff` between two.
- `sample`: a reproducible, risk-weighted audit sample of in-scope AI systems.

Nothing here computes a verdict of its own: statuses and counts come from the findings of
`mapper.rules` and the assessment.
"""
