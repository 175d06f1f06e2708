"""The label schema of recruitwatch: the one place every other part reads it from.

Training, the Label Studio config, policies and the demo import these names; change a
label here and everything downstream follows.
"""

from __future__ import annotations

from types import MappingProxyType

RECRUITMENT = "recruitment"
BENIGN = "benign"
LABELS = (RECRUITMENT, BENIGN)

LABEL_DESCRIPTIONS = MappingProxyType({
    RECRUITMENT: "The post solicits, offers, advertises or arranges for someone to take part in a "
                 "criminal activity (coded ads, job-looking ads for illegal tasks, direct invitations).",
    BENIGN: "Everything else, including posts ABOUT recruitment: news, warnings, prevention, "
            "parents asking, fiction and lyrics.",
})

# Recruitment only; a post may carry several.
CATEGORY_DESCRIPTIONS = MappingProxyType({
    "drug_dealing": "Selling or running drugs, lookouts, stash houses.",
    "trafficking_logistics": "Port/airport extraction, cross-border transport, storing loads.",
    "money_mule": "Accounts, cards, IDs, SIMs, forwarding money, cash-out.",
    "fraud": "Scam calls and texts, fake shops, parcel collection, fake documents.",
    "theft": "Burglary, vehicles, shoplifting to order.",
    "violence_for_hire": "Paid shootings, bombings, arson, assault, threats, extortion, kidnapping, killing.",
    "weapons_explosives": "Storing, carrying or acquiring firearms or explosives.",
})
CATEGORIES = tuple(CATEGORY_DESCRIPTIONS)

YOUTH_TARGETING_DESCRIPTION = (
    "The post aims at minors or very young people: ages under 18, school, pocket money, "
    "'no ID needed', gaming or influencer style for kids."
)

GENRE_DESCRIPTIONS = MappingProxyType({
    "ad": "Advertisement or offer posted to many (story, channel post, classified).",
    "direct_message": "A message to one person or a small group.",
    "job_ad": "A post written as a job offer.",
    "news": "News or court reporting.",
    "awareness": "Prevention or warning message (police, school, NGO, platform).",
    "discussion": "People discussing, asking, reporting.",
    "fiction_lyrics": "Fiction, lyrics, jokes, games, film talk.",
    "other": "Anything else.",
})
GENRES = tuple(GENRE_DESCRIPTIONS)

# Benign posts in our corpus say in their note which kind of hard negative they are
# ("legit_job: ..."); everything but "ordinary" is a hard negative.
BENIGN_KINDS = ("legit_job", "legal_side_gig", "news", "prevention", "discussion",
                "fiction_lyrics", "ordinary")
HARD_NEGATIVE_KINDS = BENIGN_KINDS[:-1]

# ISO 639-1 codes, plus "mixed" for code-switched posts; "und" when not known.
MIXED_LANG = "mixed"
UNKNOWN_LANG = "und"

# The order of fields in records on disk (JSON Lines).
RECORD_FIELDS = ("id", "text", "lang", "label", "categories", "youth_targeting", "genre", "note")
