"""Whether a rule's `score: INSTRUMENT/scale` (and respondent) names something that
exists: shared by the documents that name scales (contracts, screening rules). Pure: the
instruments come in as {code: definition}."""


def score_problems(
    score: str, respondent: str | None, instruments: dict
) -> list[tuple[str, str, str]]:
    """(key, message, value) for each part of `score` and `respondent` that `instruments`
    do not answer: an unknown instrument, a scale it lacks, a respondent it is not
    answered by."""
    code, scale = score.split("/", 1)
    definition = instruments.get(code)
    if definition is None:
        known = ", ".join(sorted(instruments)) or "none"
        return [("score", f"no instrument {code} is defined (instruments: {known})", code)]
    problems = []
    scales = definition.get("scales") or {}
    if scale not in scales:
        known = ", ".join(sorted(scales))
        problems.append(("score", f"instrument {code} has no scale {scale} ({known})", scale))
    answered = definition.get("respondents") or []
    if respondent and answered and respondent not in answered:
        message = f"instrument {code} is answered by {', '.join(answered)}"
        problems.append(("respondent", message, respondent))
    return problems
