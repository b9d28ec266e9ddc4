# lexicons/profanity.lex - profanity and vulgar insults (written by the warden
# team). Format: src/guard/lexicon.h. Scores are graded: mild words stay
# below the default profanity threshold (0.7) on their own.

@set strong: fuck* | motherfuck* | mother fucker | cunt | cunts | cocksucker | cocksuckers | twat | twats
  | wanker | wankers | bullshit | shit | shits | shitty | shithead | shitheads | shitface | dipshit | bitch
  | bitches | bitchy | son of a bitch | asshole | assholes | arsehole | arseholes | bastard | bastards
  | slut | sluts | whore | whores | douchebag | douchebags | jackass | dickhead | dickheads | dick head
  | prick | pricks | pussy ass | dumbass | fatass | piss off | pissed off | jerk off | jerking off | wank
  | bollocks | tosser | clusterfuck | goddamn | god damn | horseshit | batshit | apeshit | chickenshit
@set mild: damn | dammit | damnit | crap | crappy | hell no | what the hell | piss | pissing | arse | bloody hell
  | screw you | suck my | sucks ass | freaking | frickin | effing
@safe: shiitake | shittim | hell's kitchen | scrap metal | dick van dyke | moby dick | philip k dick
  | spotted dick | pricked | prickly | prick my finger | prick the skin | feel a prick | felt a prick
  | feel a little prick | a sharp prick | a slight prick | cocktail | cockpit | peacock
  | hancock | hitchcock | bastard sword | bastard file | damn it all to heaven | dam | hoover dam
# A word right after these is named, not used ("is the word 'X' rude?").
@mention: the term | the terms | this term | that term | derogatory term | offensive term | slang term
  | the word | the words | this word | that word | words like | terms like | the slur | the slurs | a slur
  | this slur | the phrase | this phrase | the expression | the insult | the epithet | calling someone a
  | call someone a | called someone a | in british slang | in american slang | in australian slang
rule P.strong  profanity 0.85: {strong}
rule P.mild    profanity 0.5:  {mild}
rule P.insult  profanity 0.9:  "you | you're | you are | ur | your mom is | your mother is" ~2 {strong}
