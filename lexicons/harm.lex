# lexicons/harm.lex - warden's harm lexicon (written by the warden team).
#
# Format: src/guard/lexicon.h. Design rule: a single alarming word never
# fires. A rule pairs an ACTION (make, obtain, use, commit, ...) with a
# harmful OBJECT or GOAL within a few words, so "shoot birds in flight",
# "kill a process", "bomb calorimeter" and "the history of chemical weapons"
# stay safe while "how do I build a pipe bomb" does not. @safe phrases mask
# benign idioms that contain a set's words.
#
# Categories: S1-S14 as in include/warden/taxonomy.h.

# ==== shared verbs and cues ================================================

@set make: make | making | build | building | assemble | assembling | construct* | create | creating
  | produce | producing | manufactur* | synthesi* | cook | cooking | brew | brewing | prepare | preparing
  | mix | mixing | craft | crafting | put together | rig | rigging | weaponiz* | design | designing
  | develop | developing | formulate | extract | extracting | refine | refining | grow | growing | culture
  | culturing | 3d print | print | diy | homemade | home made | improvise* | improvised | recipe for
  | recipe | ingredients for | ingredients | formula for | blueprint* | schematic* | plans for

@set obtain: buy | buying | purchase | purchasing | obtain | obtaining | acquire | acquiring | get hold of
  | get my hands on | order | smuggle | smuggling | import | sell | selling
  | distribute | distributing | traffic | trafficking | steal | stealing | where can i get
  | where to get | where can i buy | where to buy

@set use_weapon: detonate | detonating | set off | setting off | deploy | deploying | release | releasing
  | disperse | dispersing | aerosoliz* | spread | spreading | plant | planting | hide | hiding | place
  | placing | use | using | throw | throwing | launch | launching | attach | detonation

@set how: how to | how do i | how do you | how can i | how could i | how would i | how should i | how does one
  | how would one | how might i | how i can | how one can | ways to | way to | best way to | easiest way to
  | quickest way to | cheapest way to | steps to | step by step | instructions for | instructions on
  | instructions to | detailed instructions | give instructions | provide instructions | instruct users
  | instruct people | instruct someone | instruct me | tutorial on | tutorial for | a tutorial | guide on
  | guide to | guide for | a guide | a plan to | a plan for | develop a plan | develop a strategy
  | outline a plan | strategy for | strategy to | tips for | tips on | tips to | teach me | teach people
  | teach users | teach someone | teach children | tell me how | show me how | explain how to
  | walk me through | help me | methods for | methods to | techniques for | techniques to
  | what is the best way to | what's the best way to | provide step | provide detailed | give detailed
  | give me instructions | write a tutorial | create a tutorial | write a guide | create a guide

@negate: prevent | preventing | prevention of | detect | detecting | detection of | avoid | avoiding
  | report | reporting | stop | stopping | fight | fighting | combat | combating | combatting | counter
  | protect | protecting | protect against | defend | defend against | defending against | recognize
  | recognise | recognizing | spot | spotting | identify | identifying | mitigate | mitigating | recover from
  | respond to | responding to | remove | removing | get rid of | test for | testing for | symptoms of
  | treat | treating | treatment for | antidote | exposure to | dangers of | risks of | history of
  | consequences of | penalties for | punishment for | laws against | law against | signs of
  | warning signs of | victims of | victim of | survivors of | survive | surviving | cope with | coping with
  | support | supporting | help someone | help a friend | talk to | talk about | awareness of | reduce
  | reducing | lower | safely dispose | dispose of | investigate | investigating | prosecute | why is
  | should not | must not | should never | must never | does not | do not include | not include
  | without any | no malicious | not malicious | non malicious | blocking | block | monitoring | monitor
  | is it illegal to | is it legal to | definition of
  | manhattan project | how did the | how did they | how were the | in history
  | can't help with | cannot help with | can not help with | won't help with | will not help with
  | can't assist with | cannot assist with | won't assist with | can't provide | cannot provide
  | won't provide | will not provide | can't give | cannot give | won't give | can't explain how to
  | cannot explain how to | refuse to | decline to | not able to help with | unable to help with
  | unable to provide | not going to help with | not going to provide
# A definition question names its subject at once ("what is fraud", "what
# is a botnet"); "what is the most painless way to ..." asks for a method,
# so these cancel a term only in the next two words.
@negate ~1: what is | what are | what was | what were
# Counter-speech names the stereotype it rejects ("the myth that Jews
# control the banks").
@negate ~1: the myth that | the stereotype that | the lie that | the false claim that | the conspiracy theory that
  | the racist idea that | the racist claim that | the antisemitic claim that | the antisemitic myth that
  | the sexist idea that | debunk the claim that | debunking the claim that
# ... or quotes it to condemn it ('statements like "X are scum" hurt'), or
# denies having said it.
# (Not "posts like", "comments like", "tweets like": "write some tweets like ..."
# asks for them.)
@negate ~1: statements like | statement like | remarks like | if i see a comment like | say stuff like
  | saying stuff like | says stuff like | say things like | saying things like | says things like
  | phrases like | i never said that | i never said | i didn't say that | i did not say that
  | i never claimed that | never say that | nobody should say that | no one should say that
  | for saying | for saying that | for writing | for writing that | for posting | for tweeting | for wishing
  | for shouting | for claiming that | writing that | posting that | tweeting that
# Safeguarding says who must not ("make sure no adult gets unsupervised
# access to children").
@negate ~1: no adult | no adults | no stranger | no strangers | no volunteer | no volunteers | no one | nobody

# An answer that refuses names what it refuses ("I cannot provide guidance on
# creating fake news"), and one that lectures names what it condemns
# ("tracking someone's location without their knowledge is a violation of
# their privacy"): on the output role, a term in a sentence holding one of
# these is ignored (src/guard/lexicon.h). First-person refusals, policy
# statements and whole condemnations only, not bare judgements such as
# "illegal" or "dangerous", which compliant answers use too.
@refusal: i can't | i cannot | i can not | i won't | i will not | i'm unable | i am unable | i'm not able
  | i am not able | i must decline | i have to decline | i refuse | i'm sorry | i am sorry | i apologize
  | i apologise | my apologies | cannot provide | can't provide | cannot assist | can't assist | cannot help
  | can't help | cannot fulfill | can't fulfill | cannot comply | can't comply | won't be able to
  | not able to provide | against my programming | against my guidelines | against my principles
  | against my ethical | goes against | go against | content policy | content policies | ethical guidelines
  | not within the scope | not something i can | not something i will | do not condone | don't condone
  | not condone | never condone | do not support | don't support | do not encourage | don't encourage
  | advise against | i urge you not | please refrain | refrain from
  | is a violation of | is a serious violation | is a breach of | is highly unethical | is unethical and illegal
  | is illegal and unethical | is morally reprehensible | can have serious consequences | can have severe consequences
  | can lead to serious consequences

@set publish: write | writing | create | creating | make | generate | generating | produce | publish | publishing
  | post | posting | spread | spreading | share | sharing | distribute | distributing | draft | compose
  | design | start | launch | run | promote | invent | fabricate | craft

# ==== S9: indiscriminate weapons ============================================

@set explosive: bomb | bombs | pipe bomb | pipe bombs | car bomb | nail bomb | letter bomb | dirty bomb
  | fertilizer bomb | fertiliser bomb | explosive | explosives | explosive device | explosive devices
  | ied | ieds | improvised explosive | grenade | grenades | molotov | molotov cocktail | molotov cocktails
  | napalm | tnt | c4 | semtex | dynamite | nitroglycerin | nitroglycerine | tatp | acetone peroxide
  | hmtd | petn | rdx | ammonium nitrate explosive | anfo | detonator | detonators | blasting cap
  | blasting caps | suicide vest | suicide belt | landmine | landmines | thermite bomb | incendiary device
  | incendiary bomb | firebomb | fire bomb | shrapnel bomb

@set cbrn: nuclear weapon | nuclear weapons | nuclear bomb | atomic bomb | a nuke | nukes | weapons grade
  | weapons-grade uranium | weapons grade plutonium | enriched uranium | radiological weapon | radiological
  dispersal | chemical weapon | chemical weapons | nerve agent | nerve agents | nerve gas | sarin | soman
  | tabun | vx | vx gas | novichok | mustard gas | sulfur mustard | ricin | abrin | anthrax | botulinum | botulism toxin | bioweapon | bioweapons
  | biological weapon | biological weapons | bio weapon | weaponized virus | weaponised virus
  | smallpox virus | plague bacteria | toxin weapon | engineered virus
@set chem: phosgene | chlorine gas | hydrogen cyanide | cyanide gas | poison gas | toxic gas | deadly virus
  | deadly pathogen | deadly toxin | lethal gas | mustard agent

@safe: bomb in minecraft | bombs in minecraft | tnt in minecraft | bomb in fortnite | bomb in roblox
  | bomb in terraria | bomb in skyrim | bomb in zelda | bomb in a game | bomb in the game | bomb in my game
  | bomb in a video game | bombs in a video game
@safe: bath bomb | bath bombs | bomb calorimeter | bomb calorimetry | photo bomb | photobomb | f bomb | f-bomb
  | bomb shelter | bomb squad | bomb disposal | da bomb | sex bomb | love bomb | love bombing | seed bomb
  | seed bombs | glitter bomb | bomb the exam | bomb the test | bomb the interview | bombed the interview
  | bombed my exam | bombed the test | bomb pop | bomb threat training | explosive growth | explosive diarrhea
  | explosive diarrhoea | explosive flavor | explosive flavour | explosive performance | explosive speed
  | explosive power | explosive strength | explosive workout | explosive movements | explosive energy
  | bomb cyclone | bombogenesis | yarn bomb | cherry bomb tomato | chocolate bomb | hot chocolate bomb
  | hot cocoa bomb | flavor bomb | flavour bomb | bomb ass | the bomb | tnt network | c4 corvette | corvette c4 | explosive atmosphere | explosive atmospheres
  | grenade launcher in the game | anthrax band | pathogen detection | pathogen testing

rule S9.make-explosive      S9 0.9:  {make} ~4 {explosive}
rule S9.how-explosive       S9 0.85: {how} ~5 {use_weapon} ~4 {explosive}
rule S9.obtain-explosive    S9 0.8:  {obtain} ~4 {explosive}
rule S9.anfo                S9 0.9:  "mix | mixing | combine | combining | add | soak | soaking" ~3 "ammonium nitrate" ~4 "fuel oil | diesel | kerosene"
rule S9.make-cbrn           S9 0.95: {make} ~4 {cbrn}
rule S9.obtain-cbrn         S9 0.9:  {obtain} ~4 {cbrn}
rule S9.use-cbrn            S9 0.9:  {how} ~5 {use_weapon} ~4 {cbrn}
rule S9.make-chem           S9 0.85: {make} ~4 {chem}
rule S9.obtain-chem         S9 0.8:  {obtain} ~4 {chem}
rule S9.bomb-target         S9,S1 0.9: "bomb | blow up | firebomb | fire bomb | set fire to | burn down" ~3 "a building | the building | a school | the school | my school | a church | a mosque | a synagogue | a temple | a bus | a train | a plane | an airplane | an airport | a stadium | a crowd | the white house | the capitol | a government building | my office | my workplace | a hospital | a bridge | a police station | a subway | an embassy | a power plant | a concert"
rule S9.how-cbrn            S9 0.85: {how} ~6 {cbrn}
rule S9.enrich              S9 0.85: "enrich | enriching | enrichment of" ~3 "uranium | plutonium"
rule S9.culture-pathogen    S9 0.85: "culture | grow | cultivate | spread | weaponize | weaponise | aerosolize" ~4 "anthrax | smallpox | plague | ebola | bird flu | h5n1 | bacillus anthracis | yersinia pestis"

@set casualties: most casualties | maximum casualties | max casualties | mass casualties | mass casualty
  | most damage | maximum damage | kill the most | kill as many | kill many people | kill lots of people
  | most deaths | most people | biggest impact | greatest impact | most victims | as many people as possible
  | crowded place | crowded area | a crowd | crowds | stadium | subway | a school | a mall | a concert
@set place_it: place | put | plant | leave | hide | set it off | detonate | release | where to | where should i
  | where would | target | attack
rule S9.place-for-casualties S9,S1 0.9: {place_it} ~6 {casualties}
rule S9.explosive-casualties S9,S1 0.9: {explosive} ~12 {casualties}

# ==== S1: violent crimes ====================================================

@set kill: kill | killing | murder | murdering | assassinate | assassinating | strangle | strangling
  | suffocate | suffocating | smother | poison | poisoning | stab | stabbing | behead | torture | torturing
  | kidnap | kidnapping | abduct | abducting | maim | dismember | bludgeon | beat up | beat to death
  | run over | drown | drowning | attack | attacking | assault | assaulting | burn alive | lynch | shoot
  | shoot up | hurt | harm | injure | cripple | disfigure | throw acid on | pour acid on
  | stop his heart | stop her heart | stop their heart | stop someone's heart | stop a person's heart
  | stop a patient's heart | induce a heart attack | cause a heart attack | cause a fatal

@set people: someone | somebody | a person | people | person | a human | humans | a man | a woman | a girl
  | a boy | a child | children | a kid | kids | a baby | babies | an infant | my wife | my husband
  | my girlfriend | my boyfriend | my ex | my ex wife | my ex husband | my ex girlfriend | my ex boyfriend
  | my partner | my boss | my coworker | my co worker | my colleague | my neighbor | my neighbour
  | my neighbors | my neighbours | my teacher | my classmate | my classmates | my roommate | my landlord
  | my mom | my mother | my dad | my father | my parents | my brother | my sister | my son | my daughter
  | my family | my uncle | my aunt | my grandma | my grandmother | my grandpa | my grandfather | my friend
  | my best friend | a stranger | strangers | a family member | family members | the president
  | a politician | politicians | a senator | a judge | a cop | cops | a police officer | police officers
  | the police | a witness | the witness | a journalist | journalists | protesters | a protester
  | students | a student | a classmate | my enemy | my enemies | my rival | a homeless
  | homeless people | an old man | an old woman | elderly | the elderly | a pregnant woman | a prostitute
  | prisoner | prisoners | hostage | hostages | inmate | inmates | captive | captives | rich kid | rich kids
  | the journalist | a reporter | the reporter | reporters | the victim | a victim | victims
  | a streamer | the streamer | streamers | this streamer | that streamer | a youtuber | the youtuber
  | an influencer | the influencer | a gamer | this gamer | that gamer
  | a celebrity | the ceo | the mayor | the governor | the prime minister | my stepdad | my stepmom
  | a competitor | jews | muslims | christians | immigrants | black people | gay people | trans people

@set intent: i want to | i wanna | i'm going to | i am going to | im going to | i'm gonna | im gonna
  | i will | i'll | i plan to | i'm planning to | i am planning to | planning to | i need to | i have to
  | i'd like to | i would like to | should i | help me | i could | i'm about to | i am about to
  | let's | lets | we should | we need to | we're going to | we are going to
@safe: a child process | child process | child processes | the child process | child thread | child threads
  | a child thread | child pid | child node | child nodes | child element | child elements | child widget
@set pronoun: him | her | them | this guy | that guy | this person | that person | that bitch | that bastard
rule S1.how-kill           S1 0.9:  {how} ~4 {kill} ~2 {people}
rule S1.intent-kill        S1 0.9:  {intent} ~3 {kill} ~2 {people}
@safe: you in fortnite | you in minecraft | you in the game | you in game | you in roblox | you in cod
  | you in call of duty | you in chess | you at chess | you in mario kart | you in smash
rule S1.threat-you         S1 0.85: "i will | i'll | i am going to | i'm going to | im going to | i'm gonna | im gonna | we will | we're going to | we are going to" ~4 "hurt | kill | stab | shoot | murder | strangle | rape | torture | burn" ~1 "you | your family | your kids | your children | your wife | your husband | your son | your daughter | your mother | your mom | your dad | your father | your house"
rule S1.write-threat      S1 0.85: {publish} ~4 "threatening | threaten | threatens | death threat | death threats | a threat to" ~5 {people}
rule S1.write-threat-pron S1 0.85: {publish} ~4 "threatening | threaten | threatens | death threat | death threats | a threat to" ~5 {pronoun}
rule S1.send-threat       S1 0.85: "send | sending | text | texting | email | emailing | dm | mail | leave" ~3 "death threat | death threats | threatening message | threatening messages | threatening letter | threatening letters | threatening note | threatening texts | threatening emails" ~4 {people}
rule S1.arson-target      S1 0.85: {how} ~4 "burn down | set fire to | set on fire | torch" ~3 "a house | a building | his house | her house | their house | my neighbor's house | my neighbour's house | my ex's house | a school | the school | a church | a mosque | a synagogue | his car | her car | a car | an apartment | the office | a police station | the police station"
rule S1.incite             S1 0.85: {publish} ~6 "encourage | encourages | encouraging | urge | urges | urging | call on | calling on | calling for | telling | rally | rallying" ~4 "to attack | to riot | to burn down | to kill | to shoot | to beat up | to loot | to bomb | to lynch | violence against | an attack on"
rule S1.hurt-pron         S1 0.8:  "ideas | ways | how | help me | tips | plan" ~4 "really hurt | hurt | harm | injure | make her suffer | make him suffer | make them suffer" ~1 "her | him | them | my ex | my wife | my husband | my girlfriend | my boyfriend"
rule S1.lethal-amount     S1 0.8:  "how much | how many | what dose | what amount | what quantity" ~6 "to kill | would kill | will kill | to poison | would be lethal | to be lethal | would be fatal" ~4 "man | woman | person | adult | child | kid | someone | human | him | her | my husband | my wife"
rule S1.knockout-drug     S1 0.85: "chloroform | ether | sedative | sedatives | sleeping pills | ghb | rohypnol | roofies | a drugged rag | tranquilizer | tranquilliser" ~8 "knock someone out | knock her out | knock him out | knock them out | knock out a person | render someone unconscious | make someone pass out | make her pass out | make him pass out"
rule S1.fire-sabotage     S1 0.85: "tamper with | disable | sabotage | remove | cut" ~4 "smoke detector | smoke detectors | fire alarm | fire alarms | sprinkler | sprinklers | carbon monoxide detector | fire exits | fire exit" ~8 "fire spreads | fire will spread | fire can spread | burns down | burn down | dies | die | gets hurt | can't escape | cannot escape | so nobody hears"
rule S1.attack-dog        S1 0.8:  "dog | dogs | pit bull | pitbull | rottweiler" ~4 "more aggressive | aggressive | vicious | into an attack dog | to attack" ~6 "attacks strangers | attack strangers | attacks people | attack people | bites people | bite people | attack someone | attacks someone | attack my neighbor | attack my neighbour | attack kids | attacks kids"
rule S1.intent-kill-pron   S1 0.85: {intent} ~3 "kill | murder | strangle | stab | poison | kidnap | shoot | torture | beat up" ~1 {pronoun}
rule S1.how-kill-pron      S1 0.85: {how} ~3 "kill | murder | strangle | stab | poison | kidnap | torture" ~1 {pronoun}
# A weapon announced for a school, a workplace or a place of worship ("I'm
# bringing my dad's gun to school"); a question about the law is not an
# announcement ("is it legal to bring a gun to work").
@safe: water gun | water guns | nerf gun | nerf guns | toy gun | toy guns | glue gun | glue guns
  | hot glue gun | squirt gun | squirt guns | staple gun | staple guns | nail gun | nail guns
  | paintball gun | paintball guns | bubble gun | bubble guns | massage gun | bath bomb | bath bombs
  | seed bomb | seed bombs | photo bomb
rule S1.weapon-to-place     S1 0.85: "i'm bringing | im bringing | i am bringing | i'll bring | ill bring | i will bring | i'm going to bring | im going to bring | i am going to bring | i'm gonna bring | im gonna bring | gonna bring | i'm taking | i'll take | i will take" ~3 "gun | guns | rifle | rifles | shotgun | pistol | handgun | ar 15 | ar15 | weapon | weapons | bomb | explosives | pipe bomb" ~2 "to school | to class | to campus | to work | to the office | to church | to the mosque | to the synagogue | to the mall | to the concert"
rule S11.incite            S11 0.9: "manipulate | manipulating | convince | convincing | encourage | encouraging | persuade | pressure | push | bully | goad | talk" ~4 "into committing suicide | to commit suicide | into suicide | to kill themselves | to kill himself | to kill herself | into killing themselves | to self harm | into self harm | to hurt themselves | to harm themselves"

@set evade: without getting caught | without being caught | without anyone knowing | without anyone noticing
  | without leaving evidence | without leaving a trace | without leaving any evidence | without a trace
  | get away with | got away with | untraceable | undetectable | avoid detection | evade detection
  | cover up | cover my tracks | covering my tracks | no one will know | nobody will know | never be caught
  | not get caught | never get caught | won't get caught | so that it looks like an accident
  | make it look like an accident | look like a suicide | make it look like suicide | frame someone
  | destroy the evidence | destroy evidence | get rid of evidence | alibi | without being noticed
  | without being detected | without it being noticed | without it being detected | without detection
  | without raising suspicion | without arousing suspicion | undetected
rule S1.kill-evade          S1 0.9:  {kill} ~10 {evade}
rule S1.arson-evade       S1 0.85: "start a fire | set fire to | set a fire | burn down | burning down | set on fire | torch" ~10 {evade}
@set body: dispose of a body | dispose of the body | dispose of a corpse | get rid of a body
  | get rid of the body | hide a body | hide the body | hide a corpse | dissolve a body | dissolve the body
  | bury a body | bury the body
rule S1.body               S1 0.85: {body}

@set attack: terrorist attack | terror attack | terrorist attacks | mass shooting | school shooting
  | shooting spree | killing spree | massacre | genocide | ethnic cleansing | bombing | suicide bombing
  | suicide attack | car ramming | ramming attack | hijacking | hijack a plane | hijack an airplane
  | shoot up a school | shoot up my school | shoot up the school | shoot up a | attack on a school
  | attack a school | attack a church | attack a mosque | attack a synagogue | hostage | hostages | a riot
  | pogrom | lynching | assassination
@set plan: plan | planning | plot | plotting | carry out | carrying out | commit | committing | organize
  | organise | organizing | execute | conduct | conducting | stage | staging | perpetrate | launch | prepare
  | preparing | coordinate | incite | inciting | encourage | encouraging | glorify | glorifying | promote
  | promoting | recruit for | recruiting for | fund | funding | finance | financing | how to | help me
rule S1.plan-attack        S1 0.85: {plan} ~4 {attack}
rule S1.incite-violence    S1 0.8:  "incite | incites | inciting | encourage | encourages | promote | promotes | glorify | glorifies | call for" ~3 "violence | violent acts | riots | attacks | terrorism | murder | killing"
rule S1.terrorism          S1 0.8:  "join | joining | recruit | recruiting | recruit people for | fund | funding | donate to" ~3 "isis | al qaeda | al-qaeda | terrorist organization | terrorist organisation | terrorist group | jihad"

@set animal: a cat | cats | a dog | dogs | my cat | my dog | a puppy | puppies | a kitten | kittens | animals
  | an animal | pets | my pet | my neighbor's dog | my neighbours dog | a horse | a bird
rule S1.animal-cruelty     S1 0.75: "torture | torturing | abuse | abusing | hurt | hurting | poison | poisoning | mutilate" ~3 {animal}

@set weapon_small: gun | guns | a gun | firearm | firearms | rifle | pistol | handgun | shotgun | ammunition
  | ammo | knife | knives | machete | weapon | weapons | crossbow
@set weapon_illegal: ghost gun | ghost guns | untraceable gun | untraceable firearm | unregistered gun
  | unregistered firearm | illegal gun | illegal guns | illegal firearm | full auto | fully automatic
  | auto sear | bump stock conversion | silencer | suppressor | homemade gun | 3d printed gun
  | 3d-printed gun | zip gun | sawed off shotgun | sawn off shotgun | convert to automatic
rule S2.make-illegal-gun   S2 0.85: {make} ~4 {weapon_illegal}
rule S2.obtain-illegal-gun S2 0.8:  {obtain} ~4 {weapon_illegal}
rule S2.gun-no-check       S2 0.8:  {obtain} ~4 {weapon_small} ~6 "without a background check | without background check | without a license | without a licence | without paperwork | illegally | on the black market | on the dark web | without id"
rule S2.gun-no-check2      S2 0.8:  "get | getting | own | carry | carrying" ~4 {weapon_small} ~6 "without a background check | without background check | without a license | without a licence | without paperwork | on the black market | on the dark web | without id"
rule S2.weapon-sneak       S2 0.8:  "sneak | sneaking | smuggle | smuggling | hide | hiding | slip | slipping | conceal | concealing" ~4 {weapon_small} ~4 "past | through | into | onto" ~3 "metal detector | metal detectors | security | airport security | the tsa | tsa | a checkpoint | security checkpoint | a plane | the plane | a flight | a courthouse | a school | the school | a stadium"
rule S2.weapon-past        S2 0.8:  "get | getting | bring | bringing | carry | carrying" ~4 {weapon_small} ~3 "past" ~3 "metal detector | metal detectors | security | airport security | the tsa | tsa | a checkpoint | security checkpoint | a plane | the plane | a flight | a courthouse | a school | the school | a stadium"
rule S1.weapon-at-people   S1 0.85: {use_weapon} ~3 {weapon_small} ~4 "on someone | against someone | on people | against people | at school | in school | at my school | on my classmates | on my teacher | against my"
rule S1.children-guns      S1 0.8:  "teach children | teach kids | teach a child | children how to | kids how to" ~4 "access and use firearms | use firearms | use a gun | use guns | get guns | get a gun | access firearms | access guns"

# ==== S2: non-violent crimes ================================================

@set hack: hack | hacking | hack into | hacking into | break into | breaking into
  | gain unauthorized access | gain unauthorised access | unauthorized access | unauthorised access
  | access without permission | crack | cracking | infiltrate | infiltrating | breach | breaching
  | brute force | bruteforce | hijack | hijacking | spy on | snoop on | phish | bypass | bypassing
  | get into someone's | access someone's | log into someone's | take over someone's | break in to

@set target: database | databases | government database | someone's | somebody's | email account
  | email accounts | bank account | bank accounts | an account | someone's account | network | networks
  | computer | computers | server | servers | website | websites | wifi | wi fi | phone | phones | iphone
  | android phone | social media account | facebook account | instagram account | twitter account
  | snapchat account | whatsapp | gmail | corporate network | secure network | passwords | password
  | security system | security systems | firewall | firewalls | security camera | security cameras | atm
  | atms | voting machine | voting machines | power grid | infrastructure | hospital systems | bank systems
  | government systems | government website | credentials | login | two factor | 2fa | webcam | smart lock
  | a car | cars | systems | authentication | the system | a system | mainframe | satellite | drone

@safe: life hack | life hacks | growth hack | growth hacking | hackathon | hack day | hacker news | hack the box
  | bypass surgery | gastric bypass | heart bypass | coronary bypass | bypass road | crack the code
  | crack a joke | crack jokes | crack an egg | crack eggs | crack the egg | crack open | crack the case
  | crack the whip | crack of dawn | crack down | crackdown | cracked the code | take over the world
  | exploit the opportunity | exploit opportunities | exploit its strengths | exploit the strengths
  | exploit their strengths | break into the industry | break into the market | break into acting
  | break into tech | break into a new market | break into hollywood | breaking into the industry
  | get into college | get into the habit | get into shape | get into a university | get into medical school
  | get into harvard | gain access to education | gain access to healthcare | gain access to markets
  | my own account | my own network | my own computer | my own wifi | my own server | my own website
  | my own phone | my own password | my own system | my own device | i forgot my password
  | pick a lock on my own | pick the lock on my own | pick the lock of my own | pick my own lock
  | forgot my password | reset my password | recover my account | penetration testing | pen testing
  | pentest | authorized penetration | ethical hacking | ethical hacker | capture the flag | ctf
  | bug bounty | red team exercise | security audit | hack the system | cracking the system

rule S2.hack-target         S2 0.85: {hack} ~4 {target}
rule S2.brute-force        S2 0.8:  "brute force | brute forces | brute forcing | bruteforce | bruteforces | bruteforcing | dictionary attack" ~6 "login | logins | log in | password | passwords | portal | account | accounts | wifi | router | pin | pins"
rule S2.drain-account      S2 0.8:  "drain | empty | wipe out | clean out | siphon money from | siphon funds from | steal money from | steal the money in" ~3 "someone's | her | his | their | a company's | the company's | my company's | my employer's | my boss's | my parents | my grandmother's | my grandma's | the victim's | people's" ~3 "bank account | bank accounts | savings | savings account | accounts | wallet | crypto wallet | retirement account | 401k | pension"
rule S2.revenge-ruin        S2 0.8:  "get back at | get revenge on | take revenge on | revenge on | payback on | get even with" ~4 {people} ~6 "ruin | ruining | destroy | destroying | sabotage | sabotaging | humiliate | humiliating | get her fired | get him fired | get them fired | flood his apartment | flood her apartment | flooding his apartment | flooding her apartment | flood his house | flood her house | flooding his house | flooding her house | damage | damaging | vandalize | vandalizing | trash | trashing | wreck | wrecking | slash | slashing"
rule S2.flood-site          S2,S14 0.8: "flood | floods | flooding | overwhelm | overwhelms | spam | spams | hammer | hammers" ~4 "website | a website | server | a server | site | web server | network | api" ~6 "until it crashes | until it goes down | crash | crashes | take it down | takes it down | knock it offline | knocks it offline | goes offline"
rule S2.rx-without          S2 0.75: "xanax | valium | klonopin | ativan | adderall | ritalin | oxycodone | oxycontin | percocet | vicodin | hydrocodone | codeine | tramadol | benzos | benzodiazepines | opioids | opiates | ketamine | morphine | fentanyl" ~10 "without a prescription | without prescription | without seeing a doctor | without a doctor"
rule S2.doctor-shop        S2 0.8:  "opioids | painkillers | pain pills | oxycodone | oxycontin | xanax | adderall | prescriptions | pills | benzos | fentanyl" ~6 "from multiple doctors | from several doctors | from different doctors | from many doctors | from multiple pharmacies | doctor shopping"
rule S2.forge-signature    S2 0.8:  "forge | forging | fake | faking" ~3 "signature | signatures | prescription | prescriptions"
rule S2.how-hack            S2 0.85: {how} ~4 {hack} ~5 {target}

@set malware: malware | virus | viruses | computer virus | ransomware | keylogger | keyloggers | trojan
  | trojan horse | worm | computer worm | botnet | botnets | spyware | stalkerware | rootkit | rootkits
  | backdoor | backdoors | exploit kit | zero day exploit | malicious code | malicious software
  | malicious script | malicious program | malicious payload | ddos attack | ddos tool | dos attack
  | phishing email | phishing emails | phishing site | phishing website | phishing page | phishing scam
  | phishing campaign | phishing kit | credential stealer | password stealer | info stealer | infostealer
  | phishing text | phishing text message | phishing texts | phishing sms | smishing message | phishing message
  | phishing messages
  | cryptojacker | crypto miner malware | logic bomb | fork bomb | reverse shell | remote access trojan
  | rat malware | polymorphic virus | sql injection attack
  | script that can exploit | script that exploits | exploit vulnerabilities | exploits vulnerabilities
@set write: write | writing | code | coding | program | programming | develop | developing | create | creating
  | make | making | build | building | design | designing | generate | deploy | deploying | spread
  | spreading | distribute | distributing | release | releasing | launch | launching | install | installing
  | infect | infecting | send | sending | craft | crafting | script | plant
@safe: virus scan | virus scanner | antivirus | anti virus | anti-virus | virus protection | virus removal
  | remove a virus | remove the virus | remove malware | malware removal | detect malware | malware detection
  | malware analysis | analyze malware | analyse malware | protect against | protect my | protect your
  | protect yourself | defend against | prevent phishing | avoid phishing | spot phishing | recognize phishing
  | recognise phishing | identify phishing | report phishing | phishing awareness | phishing training
  | phishing simulation | detect phishing | flu virus | the virus | a virus infection | viral infection
  | cold virus | covid virus | worm farm | worm composting | earthworm | earthworms | worm bin | tapeworm
  | ringworm | bookworm | trojan war | trojan horse story | the trojan horse myth | trojans football
  | trojan horse costume
rule S2.write-malware       S2,S14 0.85: {write} ~4 {malware}
rule S2.how-malware         S2 0.8: {how} ~6 {malware}
@safe: phishing email example | phishing email examples | phishing example | phishing examples | example of a phishing
  | examples of phishing | phishing simulation | simulated phishing | phishing awareness | phishing training
rule S2.give-malware        S2,S14 0.8: "here is | here's | here are | below is | sure here is | attached is" ~2 {malware}
@safe: exploit prevention | exploit mitigation | exploit protection | exploit detection | exploit mitigations
  | an exploit prevention | an exploit mitigation | an exploit protection | an exploit detection
rule S2.write-exploit       S2,S14 0.8: {write} ~3 "an exploit | exploit code | a working exploit | an exploit script | a zero day | a 0day | a zero day exploit" ~8 "overflow | vulnerability | vulnerabilities | cve | server | servers | router | routers | remote code execution | rce | unpatched"

@set crime: fraud | insurance fraud | tax fraud | tax evasion | evade taxes | evading taxes | identity theft
  | money laundering | launder money | laundering money | insider trading | embezzlement | embezzle
  | wire fraud | credit card fraud | mail fraud | bank fraud | securities fraud | mortgage fraud
  | welfare fraud | benefits fraud | voter fraud | election fraud | shoplifting | shoplift | burglary
  | burglarize | robbery | rob a bank | rob a store | rob a house | rob someone | rob people | armed robbery
  | heist | arson | blackmail | blackmailing | extortion | extort | counterfeiting | counterfeit money
  | counterfeit bills | counterfeit currency | counterfeit goods | forgery | forge documents
  | forge a document | forge a signature | forged documents | fake id | fake ids | fake passport
  | fake passports | fake documents | bribery | bribe a | bribe an | bribe the | smuggling | smuggle drugs
  | smuggle people | human smuggling | human trafficking | trafficking | poaching | a crime | crimes
  | a felony | felonies | vandalism | vandalize | graffiti on | carjacking | carjack | hotwire a car
  | hotwire | steal a car | steal cars | break into a house | break into a car | break into someone's house
  | pick a lock | lock picking | pickpocket | pickpocketing | scam | scams | scamming | scam people
  | ponzi scheme | pyramid scheme | pump and dump | price fixing | wage theft | tax fraud scheme
  | sim swap | sim swapping | skimming | card skimmer | atm skimmer | check fraud | cheque fraud
  | catfish | catfishing | romance scam | sextortion | revenge porn | stalking | cyberstalking
  | cyberbully | cyberbullying | harass | harassing | harassment | swatting | doxxing | doxing
  | evade the police | evade police | evade law enforcement | escape from prison | escape prison
  | jailbreak a prison | bail jumping | obstruct justice | obstruction of justice | perjury | witness tampering
  | tamper with evidence | tampering with evidence | hit and run | manipulate stock prices
  | manipulate the stock market | market manipulation | manipulate the market | deceptive email
  | deceptive emails | fraudulent email | fraudulent emails | scam email | scam emails | fake login page
  | fake website | fake bank website | fake charity | fake invoice | fake invoices | fake lottery
  | fake resume | false work experience | false work experiences | fake credentials | fake diploma
  | fake degree | fake references | fake doctor's note | fake prescription | forge a prescription
  | forge a diploma | cheat on an exam | cheat on exams | cheat on a test | cheating on exams
@set commit: commit | committing | engage in | engaging in | get away with | getting away with | carry out
  | carrying out | pull off | pulling off | do | doing | perform | performing | facilitate | facilitating
  | plan | planning | orchestrate | run | running | start | starting | set up | setting up | organize
  | organise | get started with | succeed at | successful | effective | profit from | make money from
  | make money with | encourages | encourage | encouraging | promote | promoting | enables | enable
  | teach | teaches | teaching | instruct | instructs | assist in | assist with | help with
@safe: what is fraud | report fraud | reporting fraud | prevent fraud | preventing fraud | fraud prevention
  | fraud detection | detect fraud | detecting fraud | protect against fraud | avoid scams | avoid being scammed
  | spot a scam | spot scams | recognize scams | recognise scams | report a scam | victim of fraud
  | victims of fraud | victim of a scam | victim of identity theft | prevent identity theft
  | protect myself from identity theft | anti money laundering | anti-money laundering | aml compliance
  | prevent money laundering | combat money laundering | combating money laundering | fight crime
  | fighting crime | prevent crime | preventing crime | crime prevention | report a crime | solve crimes
  | solving crimes | crime rate | crime rates | crime statistics | crime novel | crime fiction | true crime
  | crime show | crime drama | war crimes tribunal | victims of crime | crime scene investigation
  | stop cyberbullying | prevent cyberbullying | deal with cyberbullying | dealing with cyberbullying
  | victim of cyberbullying | victims of cyberbullying | stop harassment | report harassment
  | prevent harassment | sexual harassment training | being harassed | being stalked | do a heist movie
rule S2.commit-crime        S2 0.85: {how} ~4 {commit} ~3 {crime}
rule S2.make-forgery      S2 0.85: {make} ~3 "fake | forged | counterfeit | fraudulent" ~2 "doctor's note | doctors note | sick note | medical certificate | prescription | passport | diploma | degree | pay stub | paystub | bank statement | receipts | reference letter | signature | banknotes | bills | dollar bills | driver's license | drivers license | birth certificate | vaccination card | vaccine card"
rule S2.insider           S2 0.8:  "which stocks | what stocks | which shares | what shares | help me trade | help me profit | how can i profit | how do i profit | how can i use | how do i use | how to use | can i use | how to trade on | how do i trade on" ~6 "insider information | insider info | inside information | inside info | non public information | nonpublic information | material non public"
rule S2.organ-sale         S2 0.85: "sell | buy | selling | buying" ~3 "a kidney | kidneys | organs | an organ | a liver | human organs | body parts" ~4 "black market | dark web | illegally | for cash"
rule S2.union-threat       S2 0.8:  "threatening to fire | threaten to fire | threatens to fire | fire anyone who | fire everyone who" ~6 "union | unionize | unionise | unionizing | unionising | vote for the union | joins a union | organize"
rule S2.rob-target        S2 0.8:  "easiest | best | safest | weakest | least guarded | least secure" ~3 "bank | banks | store | stores | house | houses | gas station | person | target | place | jewelry store | pharmacy" ~1 "to rob | to break into | to burglarize | to steal from | to hold up"
rule S2.get-away           S2 0.85: "get away with | getting away with | pull off | pulling off | succeed at | not get caught for | never get caught for" ~3 {crime}
rule S2.promote-crime      S2 0.75: {publish} ~6 "encourages | encourage | promotes | promote | glorifies | glorify | normalizes" ~3 {crime}
rule S2.how-crime           S2 0.85: {how} ~5 {crime}
rule S2.crime-evade         S2 0.85: {crime} ~10 {evade}

@set steal: steal | steals | stealing | rob | robs | robbing | shoplift | pickpocket | swindle | embezzle | loot
  | looting | defraud | defrauding | con people | scam people | trick people | trick someone
@set loot: money | cash | someone's identity | identities | identity | credit card | credit cards
  | credit card information | credit card numbers | card details | card numbers | bank details
  | login credentials | credentials | passwords | funds | savings
  | pension | retirement savings | life savings | from a store | from stores | from walmart | from target
  | from my employer | from work | from the register | from a charity | from elderly | from old people
  | a car | cars | packages | jewelry | jewellery | electricity | wifi | my neighbor's wifi | someone's wallet
  | wallets | purses | crypto | cryptocurrency | bitcoin | trade secrets | intellectual property
  | from the bank | from a bank | from my job | their money | his money | her money
  | people's money | from the elderly | from old people
@safe: steal the show | stole the show | steals the show | steal a base | stole a base | steal bases
  | steal second | steal home | steal the spotlight | steal my heart | stole my heart | steal your heart
  | steals my heart | steal someone's heart | steal a kiss | steal a glance | steal the scene | steal a march
  | steal this idea | steal like an artist | rob peter to pay paul | take advantage of the sale
  | take advantage of the offer | take advantage of the weather | take advantage of this | take advantage of it
  | take advantage of the opportunity | take advantage of opportunities | take advantage of the discount
  | take advantage of free | take advantage of my time | take advantage of the features
@set loot_any: data | user data | personal data | personal information | sensitive information | sensitive data
  | customer data | medical records | trade secrets | intellectual property | source code | information
rule S2.steal               S2 0.8:  {steal} ~4 {loot}
rule S2.how-steal           S2 0.85: {how} ~4 {steal} ~5 {loot_any}
rule S2.write-steal         S2 0.85: {write} ~4 {steal} ~5 {loot_any}
rule S2.exploit-vulnerable  S2 0.8:  "take advantage of | exploit | scam | scamming | trick | tricking | con | defraud | manipulate" ~3 "the elderly | elderly people | old people | vulnerable people | seniors | my grandmother | my grandfather | my grandma | my grandpa | disabled people | lonely people"

@set drug: meth | methamphetamine | crystal meth | cocaine | crack cocaine | heroin | fentanyl
  | carfentanil | lsd | mdma | ecstasy | ghb | pcp | ketamine | dmt | opium | illegal drugs | illicit drugs | street drugs | hard drugs | narcotics
  | drugs at home | a controlled substance | controlled substances | amphetamine | amphetamines
  | bath salts | krokodil | desomorphine | mescaline | psilocybin | magic mushrooms | shrooms
  | hash oil | meth lab | drug lab | date rape drug | date rape drugs | roofies | rohypnol
  | poison | poisons | untraceable poison | lethal poison | cyanide | arsenic | thallium | strychnine
  | polonium | ricin toxin
@safe: crack the code | crack a joke | crack jokes | crack an egg | crack eggs | crack open | crack the case
  | crack of dawn | cracked the code | sidewalk crack | a crack in | the crack in | cracks in | crack in the
  | plumber's crack | crack a smile | poison ivy | poison oak | poison control | poison center
  | poison centre | poisoning symptoms | food poisoning | lead poisoning | carbon monoxide poisoning
  | poison dart frog | rat poison | poison pill | poisonous plants | poisonous mushrooms | poisonous snakes
  | morphine for pain | prescribed morphine | prescribed oxycodone | ketamine therapy | ketamine treatment
  | psilocybin therapy | psilocybin research | poison type | poison-type | poison damage
  | poison the rats | poison rats | poison the rat | poison a rat | poison the mice | poison mice
  | poison the mouse | poison a mouse | poison the moles | poison moles | poison the gophers | poison gophers
  | poison the termites | poison termites | poison the wasps | poison wasps
  | poison the weeds | poison weeds | poison the ivy | poison the grass | poison the stump | poison a tree stump
  | poison the tree stump | poison the ants | poison ants | poison the roaches | poison roaches | poison the cockroaches
  | poison cockroaches | poison the slugs | poison slugs
rule S2.make-drug           S2 0.9:  {make} ~4 {drug}
rule S2.obtain-drug         S2 0.8:  {obtain} ~4 {drug}
rule S2.how-drug            S2 0.8:  {how} ~5 {drug}
rule S1.poison-person       S1 0.9:  "poison | drugging | spike the drink of | lace the food of" ~2 {people}
rule S1.drug-drink          S1,S3 0.85: "drug | spike | lace | put something in | slip something into | roofie" ~4 "someone's drink | her drink | his drink | their drink | a drink | drinks | my date | her food | his food"

# ==== S3: sex-related crimes ================================================

@set sexcrime: rape | raping | sexually assault | sexually assaulting | sexual assault | molest | molesting
  | grope | groping | drug and rape | force someone to have sex | force her to have sex | force him to have sex
  | coerce into sex | coerce someone into sex | sex trafficking | traffic women | traffic girls
  | forced prostitution | pimp | pimping | sextort | sextortion | revenge porn | non consensual
  | nonconsensual | non-consensual | upskirt | upskirting | hidden camera in | spy camera in
  | record someone naked | film someone naked | secretly film | secretly record | voyeur
@safe: rape crisis | rape crisis center | rape survivor | rape survivors | rape victim | rape victims
  | report a rape | report rape | reporting rape | rape statistics | prevent rape | preventing rape
  | rape prevention | rape culture | after being raped | was raped | were raped | been raped | sexual assault
  survivor | sexual assault survivors | sexual assault awareness | sexual assault prevention | report sexual
  assault | reporting sexual assault | victims of sexual assault | victim of sexual assault | anti trafficking
  | anti-trafficking | combat trafficking | combat sex trafficking | fight trafficking | fight sex trafficking
  | victims of trafficking | signs of trafficking | signs of human trafficking | recognize trafficking
  | pimp my ride | pimp my
rule S3.how-sexcrime        S3 0.9:  {how} ~4 {sexcrime}
rule S3.commit-sexcrime     S3 0.85: {commit} ~3 {sexcrime}
rule S3.sexcrime-evade      S3 0.9:  {sexcrime} ~10 {evade}
rule S3.sexcrime-person     S3 0.85: "rape | molest | grope | sexually assault | drug and rape" ~3 {people}

# ==== S4: child sexual exploitation =========================================

@set minor: child | children | a child | kid | kids | minor | minors | underage | under age | preteen
  | pre teen | preteens | young girl | young girls | young boy | young boys | little girl | little girls
  | little boy | little boys | schoolgirl | schoolgirls | schoolboy | toddler | toddlers | infant
  | 10 year old | 11 year old | 12 year old | 13 year old | 14 year old | 15 year old | 10yo | 11yo
  | 12yo | 13yo | 14yo | 15yo | a teen | teens | teenager | teenagers | my niece | my nephew
  | my stepdaughter | my stepson | students | a student | pupils
@set sexual: sexual | sexually | sexy | erotic | erotica | porn | porno | pornography | pornographic | nude
  | nudes | naked pictures | naked photos | naked pics | nude pictures | nude photos | explicit photos
  | explicit pictures | explicit images | lewd | sex with | have sex | having sex | sleep with
  | hook up with | seduce | seducing | intimate with | fondle | fondling | touch inappropriately
  | sexual relationship | romantic relationship with
rule S4.sexual-minor        S4 0.95: {sexual} ~4 {minor}
rule S4.minor-sexual        S4 0.9:  {minor} ~3 "porn | porno | pornography | nudes | nude pictures | nude photos | naked pictures | naked photos | erotica | sexual content | sexual images | sexual videos | sex videos | sex pics"
rule S4.groom               S4 0.9:  "groom | grooming | lure | luring | befriend | befriending | meet up with | get access to | gain the trust of | gain trust of" ~4 {minor} ~8 "sex | sexual | sexually | alone | without their parents | without parents knowing | secret | secretly | meet in person | send pictures | send photos | nudes"
@safe: a child s | a kid s | a young boy s | a young girl s | a teen s | a teenager s | children s | kids hair
rule S4.groom-how         S4 0.9:  "how to | how do i | how can i | instructions for | guide to | guide for | guide on | tips for | steps for | write | explain" ~3 "groom | grooming" "a child | children | a minor | minors | underage | young girls | young boys | a young girl | a young boy | a teen | teens | a teenager | teenagers | preteens | a kid | kids online | teenage girls | teenage boys | teen girls | teen boys | underage girls | underage boys | little girls | little boys | schoolgirls"
rule S4.unsupervised      S4 0.85: {how} ~4 "unsupervised access to | unsupervised time with | unsupervised contact with" ~3 {minor}
rule S4.unsupervised-get  S4 0.85: "gets | get | getting | gain | gaining | obtain | obtaining" ~2 "unsupervised access to | unsupervised time with | unsupervised contact with" ~3 {minor}
rule S4.secret            S4 0.9:  {minor} ~10 "keep | keeping" ~4 "secret | a secret | our secret | between us" ~4 "from her parents | from his parents | from their parents | from her mom | from his mom | from her mother | from his mother | from her dad | from his dad | from your parents | from anyone"
rule S4.child-bride         S4 0.9:  "buy | buying | find | get | marry | purchase | arrange" ~3 "a child bride | child bride | child brides | an underage bride | a child wife | a young bride under"
rule S4.minor-pictures      S4 0.9:  "convince | get | persuade | ask | make | trick | pressure" ~3 "a minor | minors | an underage | underage | a child | a teen | a teenager | teenagers | a young girl | a young boy | young girls | young boys | a little girl | a little boy | a preteen | preteens | a 10 year old | an 11 year old | a 12 year old | a 13 year old | a 14 year old | a 15 year old | a 16 year old | a 17 year old | a schoolgirl | schoolgirls" ~4 "to send me pictures | to send me photos | to send pictures | to send photos | to send me pics | to send pics | to send nudes | to send me nudes | to take pictures of herself | to take pictures of himself | to meet me alone"
rule S2.minor-substance    S2 0.8:  "convince | convinces | encourage | encourages | persuade | persuades | pressure | get" ~4 {minor} ~4 "to try vaping | to vape | to smoke | to try drugs | to drink alcohol | to start smoking | to try weed | to try alcohol | to get drunk | to get high"
rule S4.csam                S4 0.98: "child porn | child pornography | csam | child sexual abuse material | child sexual abuse images | cp links | kiddie porn | pedo porn | loli porn | lolicon porn | shotacon porn | jailbait"
@safe: sex education | sexual education | sexual health | sex ed | sexual development | puberty
  | talk to my child about | talk to my kids about | talk to children about | teach children about consent
  | teach kids about consent | protect children | protecting children | protect my child | child safety
  | keep kids safe | keep children safe | report child abuse | prevent child abuse | preventing child abuse
  | signs of grooming | warning signs | recognize grooming | child protection | sexual abuse prevention
  | survivors of child sexual abuse | abused as a child | romantic relationship with a coworker

# ==== S5 defamation / S13 elections =======================================

@set falsehood: defamatory | defamation | libel | libelous | libellous | slander | slanderous | false rumors
  | false rumours | false rumor | false rumour | lies about | false claims about | fake news article
  | fake article | false article | false story | false stories | fake story | fake stories | smear
  | smear campaign | fabricated story | fabricated claims | fake scandal | fake allegations
  | false allegations | false accusations | fake reviews | fake review | made up story | hoax article
@set misinfo: misinformation | disinformation | fake news | propaganda | conspiracy theory | conspiracy theories
  | false information | hoax | hoaxes | lies
@safe: spot fake news | detect fake news | identify fake news | recognize misinformation | recognise misinformation
  | combat misinformation | combating misinformation | fight misinformation | fighting misinformation
  | counter misinformation | debunk | debunking | fact check | fact-check | fact checking | media literacy
  | how does propaganda work | history of propaganda | world war propaganda | propaganda posters
  | is it defamation | what is defamation | what is libel | what counts as defamation | sue for defamation
  | defamation lawsuit | libel law | defamation law | avoid defamation
rule S5.publish-falsehood   S5 0.75: {publish} ~5 {falsehood}
rule S5.spread-misinfo      S5 0.75: "spread* | creat* | generat* | produc* | craft* | launch* | promot* | amplif*" ~3 {misinfo}
rule S5.falsehood-person    S5 0.8:  {falsehood} ~4 "a celebrity | a politician | a public figure | my boss | my neighbor | my coworker | a company | a competitor | my ex | the ceo | a journalist | a teacher"
rule S5.fabricate-ruin      S5 0.8:  "make up | invent | fabricate | fabricating | spread | start" ~3 "a scandal | scandal | rumors | rumours | a rumor | a rumour | lies | false allegations | false accusations | fake allegations | fake scandal" ~8 "ruin | ruins | destroy | damage | tarnish | discredit | smear"
rule S5.false-claim         S5 0.8:  {publish} ~6 "claiming | claims | saying | arguing | argues | proving | proves" ~4 "5g towers spread | 5g spreads | 5g causes | 5g caused | vaccines cause autism | vaccines contain microchips | covid is a hoax | covid vaccines kill | the holocaust never happened | the moon landing was faked | the earth is flat | chemtrails are | bleach cures"
rule S5.dangerous-advice    S5,S1 0.8: "convince people that | convince people to | persuade people that | persuade people to | encourage people to | tell people that | tell people to" ~4 "mixing bleach and ammonia | mix bleach and ammonia | bleach and ammonia | drink bleach | drinking bleach | mixing bleach and vinegar" ~6 "makes a great | is safe | is a great | is harmless | is healthy | cures | works great | is fine | is a good"
@set election: election | elections | vote | votes | voting | voters | voter | ballot | ballots | polling
  | polls | candidate | candidates | political candidate | political party | electoral | democracy | referendum
rule S13.misinfo-election   S13 0.85: {publish} ~6 {falsehood} ~8 {election}
rule S13.misinfo-election2  S13 0.85: "spread* | creat* | generat* | produc* | craft* | launch* | promot* | amplif*" ~3 {misinfo} ~8 {election}
rule S13.suppress           S13 0.85: {how} ~6 "prevent people from voting | stop people from voting | keep people from voting | discourage people from voting | suppress votes | suppress the vote | voter suppression | intimidate voters | intimidating voters | rig the election | rig an election | rig elections | steal the election | stuff ballots | ballot stuffing | fake ballots | hack voting machines | tamper with ballots | change vote counts | manipulate election results | manipulate the election | influence the election illegally"
rule S13.commit-suppress    S13 0.85: {commit} ~4 "voter suppression | ballot stuffing | election fraud | voter intimidation | voter fraud"
rule S13.false-voting       S13 0.85: "tell | telling | text | texting | robocall | message | post | announce | write | writing | spread | inform" ~10 "election has been moved | election has been postponed | election is cancelled | election has been cancelled | election was moved | election was postponed | polls are closed | polling place has moved | polling places have moved | polling location has changed | vote by text | vote by phone | vote by email | vote online | vote on wednesday | vote the day after | can vote twice | stay home on election day | don't need to vote | do not need to vote | voting has been extended"
rule S13.false-info         S13 0.85: "tell | telling | post | write | text | announce | spread" ~10 "polls | polling | election | vote | voting | ballots | ballot" ~10 "even though they don't | even though it doesn't | even though it's not true | even though it isn't | even though that's false | which is false | which isn't true | that isn't true | although it's false | even though they do not"

# ==== S7: privacy ============================================================

@set find: find | finding | get | getting | obtain | obtaining | look up | lookup | track | tracking
  | locate | locating | dig up | uncover | find out | discover | access | accessing | reveal | leak
  | leaking | publish | publishing | post | posting | expose | exposing | dox | doxx | doxing | doxxing
  | harvest | harvesting | scrape | scraping | sell | selling
@set private: home address | home addresses | address of | where she lives | where he lives | where they live
  | phone number of | cell number | personal phone number | social security number | ssn | medical records
  | medical history | bank details | private messages | private photos | private information
  | personal information | personal details | location of | current location | real name of | real identity
  | ip address of | browsing history | whereabouts | daily routine | their schedule | her schedule
  | his schedule | email address of | passwords of | social security numbers | ssns | phone numbers
  | phone numbers of | home addresses of | addresses of | medical records of | new address | current address
@set someone: someone's | somebody's | a person's | her | his | their | my ex's | my ex | my neighbor's
  | my neighbour's | my coworker's | a celebrity's | celebrity | celebrities | a stranger's | a journalist's
  | an influencer's | a streamer's | a youtuber's | people's | employees | users | customers | citizens
  | the journalist | the reporter | the person who | this person | that person | the woman who | the man who
  | that girl | this girl | that guy | this guy | the streamer | the youtuber | the influencer
rule S2.break-in           S2 0.8:  "pick the lock on | pick the lock of | pick the lock to | pick a lock on | pick the lock | break into | jimmy open | pry open" ~3 {someone} ~3 "house | home | front door | back door | door | apartment | flat | car | garage | shed | safe | mailbox"
rule S2.witness            S2 0.85: "threaten | threatening | intimidate | intimidating | scare | bribe | pay off | silence" ~3 "a witness | the witness | witnesses | a juror | the jury | jurors | the victim"
rule S7.find-private        S7 0.8:  {find} ~3 {someone} ~3 {private}
rule S7.find-private2       S7 0.75: {find} ~4 {private} ~3 {someone}
rule S7.find-private3       S7 0.75: {find} ~8 {private} ~1 {someone}
rule S7.find-private-of     S7 0.75: {find} ~4 "private home address | private address | private phone number | personal phone number | personal cell number | personal cell phone number | private email address | personal email address | unlisted number | unlisted address | home address and phone number"
rule S7.give-private-of     S7 0.8:  "give me | tell me | what is | what's | find | look up | post | leak | list | compile" ~5 "social security number of | ssn of | social security number for | bank account number of | credit card number of | credit card details of | home address of | home addresses of | passport number of | medical records of"
rule S7.list-people         S7 0.75: "list | give me | find | compile | get | collect | scrape" ~3 "full names and addresses | names and addresses | names and home addresses | names and phone numbers | addresses and phone numbers | home addresses | phone numbers" ~5 "students | children | kids | classmates | patients | residents | neighbors | neighbours | strangers | women | girls"
rule S7.surveil             S7 0.8:  "track | tracking | spy on | spying on | monitor | monitoring | stalk | stalking | follow | following | read | reading | record | recording | listen to | intercept | access" ~4 {people} ~6 "without them knowing | without their knowledge | without her knowing | without him knowing | without consent | without their consent | without permission | secretly | covertly | phone | messages | texts | location | emails | gps"
rule S7.spyware-on          S7,S2 0.85: "install | put | hide | use" ~3 "spyware | stalkerware | a tracker | a tracking device | gps tracker | keylogger | hidden camera | spy app | tracking app" ~4 "on her | on his | on their | on my wife's | on my husband's | on my girlfriend's | on my boyfriend's | on my partner's | on someone's | on my ex's | on my employee's | on my kid's | in her | in his | in someone's"
rule S7.read-pron           S7 0.75: "read | spy on | track | monitor | hack | secretly check | go through" ~1 "the owner's | someone's | somebody's | a stranger's | her | his | their | my wife's | my husband's | my girlfriend's | my boyfriend's | my partner's" ~1 "phone | messages | texts | text messages | location | emails | email | dms | whatsapp | browsing history"
rule S7.dox                 S7 0.85: "dox | doxx | doxing | doxxing" ~4 {people}
rule S7.where-lives       S7 0.8:  {find} ~2 "where" ~1 "my ex | my ex girlfriend | my ex boyfriend | my ex wife | my ex husband | my ex partner | a stranger | this stranger | that stranger | the celebrity | a celebrity | the journalist | a journalist | the streamer | the youtuber | the influencer | that girl | this girl | that woman | this woman | that guy | this guy | my crush | my therapist | the judge | the witness | her | him" ~2 "lives | lives now | is living | moved to | is staying | is hiding | goes to school | sleeps"
rule S7.stalk               S7 0.8:  "stalk | stalking | track | tracking" ~3 "my ex | my ex girlfriend | my ex boyfriend | my ex wife | my ex husband | my crush | a girl | a woman | my coworker | my classmate | her | him" ~6 "daily routine | routine | schedule | where she goes | where he goes | every move | without her knowing | without him knowing"

# ==== S8: intellectual property ============================================

@set pirated: pirated | pirating | piracy | cracked version | cracked copy | crack for | keygen | key generator
  | serial key generator | license key generator | warez | torrent | torrents | torrenting | illegal download
  | illegally download | download illegally | without paying for | for free illegally | bypass drm
  | remove drm | strip drm | break drm | circumvent drm | drm removal | bootleg | bootlegged | counterfeit
  | knock off | knockoff | plagiarize | plagiarise | plagiarizing | pirate copies | pirate copy
@set media: movies | movie | films | software | windows | photoshop | adobe | microsoft office | games | game
  | music | songs | albums | ebooks | books | textbooks | netflix | disney | hbo | spotify | kindle
  | tv shows | series | shows | content | an app | apps | paid apps | courses | textbook | essay | paper
  | code | articles | designer bags | handbags | watches | a book | someone's work | someone else's work
rule S8.pirate              S8 0.7:  {how} ~4 {pirated} ~4 {media}
rule S8.how-pirate          S8 0.7:  {how} ~4 "download | get | watch | stream | obtain | use | copy | distribute | sell | make | find" ~4 {pirated}
rule S8.get-pirated         S8 0.7:  "download | get | watch | stream | obtain | distribute | sell | where can i find | where to find" ~3 {pirated} ~3 {media}
rule S8.reproduce-sell    S8 0.75: "generate | reproduce | print | write out | give me | output | type out | copy | paste" ~3 "the full text of | the entire text of | the complete text of | the whole text of | the full book | the entire book | the whole book | the complete book | every chapter of | all chapters of | the full script of | the entire script of | the full lyrics of | all the lyrics of" ~10 "sell it | sell them | sell copies | to sell | and sell | post it online | upload it | distribute it | share it online | publish it as mine | claim it as mine"
rule S8.lyrics-own          S8 0.75: "write | give me | print | copy | type out | paste" ~3 "the lyrics of | the lyrics to | lyrics of | lyrics to | the full lyrics of | all the lyrics of" ~10 "as my own | as mine | pass them off | pass it off | claim them | claim it | sell them | sell it | without credit | without crediting"
rule S8.free-link           S8 0.7:  "free download link | free download links | download link | download links | free streaming link | streaming link | torrent link" ~6 "movie | movies | film | films | episode | episodes | season | album | song | songs | game | games | photoshop | windows | microsoft office | marvel | netflix | disney"
@safe: pirate ship | pirate ships | pirates of the caribbean | pirate costume | pirate party | talk like a pirate
  | pittsburgh pirates | pirate radio history | cracked phone screen | cracked screen | cracked windshield
  | cracked heel | cracked heels | cracked lips | cracked tooth | cracked egg | cracked pepper | cracked wheat
  | cracked corn | cracked window | cracked windows | cracked glass | counterfeit detection | spot counterfeit
  | detect counterfeit | avoid counterfeit | identify counterfeit | avoid plagiarism | avoiding plagiarism
  | check for plagiarism | plagiarism checker | detect plagiarism | what is plagiarism | plagiarism detection
  | legally download | legal torrent | public domain

# ==== S10: hate ===============================================================

@set group: jews | jewish people | the jews | muslims | muslim people | arabs | blacks | black people
  | african americans | africans | asians | asian people | chinese people | the chinese | japanese people
  | koreans | indians | indian people | hindus | sikhs | mexicans | latinos | latinas | hispanics
  | immigrants | illegal immigrants | illegals | migrants | refugees | gypsies | roma | romani people
  | gays | gay people | gay men | lesbians | homosexuals | bisexuals | trans people | transgender people
  | transgenders | trans women | trans men | non binary people | women | christians
  | catholics | atheists | mormons | white people | whites | disabled people | the disabled | autistic people
  | mentally ill people | fat people | old people | poor people | minorities | foreigners | natives
  | native americans | aboriginals | irish people | the irish | polish people | russians | ukrainians | palestinians
  | israelis | iranians | pakistanis | nigerians | somalis | haitians | puerto ricans | filipinos
  | vietnamese people | the lgbt community | lgbtq people | lgbt people | queers
@set dehumanize: inferior | subhuman | sub human | less than human | not human | animals | vermin | parasites
  | cockroaches | rats | apes | monkeys | savages | barbarians | a disease | a cancer | a plague | filth
  | dirty | stupid | less intelligent | genetically inferior | biologically inferior | evil | criminals
  | all criminals | rapists | all terrorists | should be exterminated | should be eliminated
  | should be killed | should die | must die | deserve to die | should be deported | should be sterilized
  | should be banned | should not exist | shouldn't exist | should be wiped out | don't deserve rights
  | do not deserve rights | shouldn't have rights | should not have rights | ruining this country
  | ruining our country | destroying our country | replacing us | lazy | greedy | disgusting
  | scum | degenerates | degenerate | worthless | trash | garbage | repulsive | revolting | vile
  | pigs | a burden on society | a burden | the enemy | an abomination | abominations | freaks
  | useless | pathetic | a waste of space | a blight | lesser beings | pests | a pest | human garbage
  | human trash | no better than animals | no better than rats | no better than dogs | despicable
  | sickening | scumbags | the absolute worst | a threat to civilisation | a threat to civilization
rule S10.group-dehumanize   S10 0.85: {group} ~1 "are | is | are all | are just | are nothing but | are basically" ~2 {dehumanize}
# A speaker's hatred of a whole group, said outright ("I hate immigrants", "I
# can't stand all those Muslims"); "I don't hate ..." does not match (the
# phrase starts at "I hate").
@set hate_verb: i hate | i really hate | i just hate | i absolutely hate | i truly hate | i fucking hate
  | i despise | i really despise | i detest | i loathe | i can't stand | i cannot stand
  | i really can't stand | i can not stand | we hate | we despise | i have so much hatred for
  | i have nothing but hatred for | i have nothing but contempt for | i am disgusted by
  | i'm disgusted by
rule S10.hate-group         S10 0.8:  {hate_verb} {group}
rule S10.hate-group-all     S10 0.8:  {hate_verb} "all | all the | all of the | all those | all these | those | these | you | most | every" {group}
# Violence wished on a whole group, or called for ("death to all X", "X
# should all be shot", "execution is the only solution for X").
@set group_killed: be killed | be shot | be hanged | be hung | be gassed | be executed | be exterminated
  | be wiped out | be eliminated | be burned | be burnt | be lynched | be put down | be slaughtered
  | be murdered | be stoned | be beheaded | be drowned | be locked up in cages | be put in camps
  | be sent to camps | be sent to the gas chambers | be put to death
rule S10.group-should-die   S10,S1 0.85: {group} ~2 "should | should all | must | must all | need to | needs to | deserve to | ought to | have to" ~1 {group_killed}
rule S10.group-must-die     S10,S1 0.85: {group} ~2 "should all | should just | must | must all | deserve to | all deserve to" "die | drop dead | rot | burn in hell | be dead"
rule S10.death-to-group     S10,S1 0.85: "death to | death to all | kill all | kill all the | exterminate | exterminate all | gas all | gas the | wipe out | wipe out all | shoot all | shoot every | execute all | lynch all | hang all | slaughter all" ~1 {group}
rule S10.only-solution      S10,S1 0.85: "execution | extermination | genocide | killing them | deportation and death | death" ~2 "is the only solution for | is the only answer for | is the final solution for | is the only way to deal with | is all they deserve" ~1 {group}
rule S10.group-belongs      S10 0.8:  {group} ~2 "belong in a zoo | belong in zoos | belong in cages | belong in a cage | belong in the trash | belong in the gutter | belong in gas chambers | belong in the gas chamber | belong in camps"
# A whole group called names, or named as what disgusts or enrages the
# speaker ("immigrants are all complete assholes", "Muslims make me sick").
@set group_insult: assholes | arseholes | idiots | morons | imbeciles | retards | cunts | bitches
  | bastards | dickheads | scumbags | pricks | losers | cretins | subhumans | dogs | swine | leeches
rule S10.group-insult       S10 0.8:  {group} ~1 "are | are all | are just | are such | are nothing but | are only | are complete | are all complete | are total | are all total" ~1 {group_insult}
rule S10.group-disgusts     S10 0.8:  {group} ~3 "make me sick | makes me sick | disgust me | disgusts me | make me furious | fill me with rage | fill me with disgust | make my blood boil | make me want to puke | make me want to vomit | make me want to throw up | should be ashamed to exist"
rule S10.why-group          S10 0.85: "why are | why is | prove that | explain why | argue that | essay on why | essay arguing | reasons why" ~2 {group} ~3 {dehumanize}
@set hateful: racist | racism | sexist | misogynist | misogynistic | homophobic | transphobic | antisemitic
  | anti semitic | islamophobic | xenophobic | bigoted | hateful | hate speech | white supremacist
  | white supremacy | nazi | neo nazi | neo-nazi | ethnic slurs | slurs | derogatory | dehumanizing
  | demeaning | offensive joke | offensive jokes | discriminatory | supremacist
@set hate_out: joke | jokes | rant | speech | post | posts | tweet | tweets | message | messages | content
  | essay | song | lyrics | article | propaganda | slogan | slogans | meme | memes | poem | story | manifesto
  | flyer | flyers | pamphlet | comments | comment | insult | insults | chant | name | names | nickname
  | recruitment | video script | letter | email
@safe: is racist | was racist | racist or not | is this racist | is it racist | is that racist | why racism
  | history of racism | fight racism | fighting racism | combat racism | combating racism | anti racist
  | anti racism | anti-racist | anti-racism | about racism | on racism | address racism | addressing racism
  | systemic racism | structural racism | reduce racism | end racism | racism in | racism and
  | effects of racism | impact of racism | hate speech laws | hate speech policy | moderate hate speech
  | detect hate speech | detecting hate speech | hate speech detection | identify hate speech
  | report hate speech | respond to hate speech | history of the nazi | nazi germany | the nazi party
  | the nazis | nazi regime | nazi era | holocaust | against antisemitism | fight antisemitism
  | combat antisemitism | sexist remarks at work | deal with sexist | dealing with sexist
  | respond to a racist | respond to racist | called me a racist | derogatory terms history
rule S10.make-hateful       S10 0.85: {publish} ~4 {hateful} ~3 {hate_out}
rule S10.tell-hateful       S10 0.8:  "tell | tell me | give me | say | list" ~3 {hateful} ~3 {hate_out}
rule S10.promote-hate       S10 0.85: "incite | incites | inciting | promote | promotes | promoting | encourage | encourages | stoke | glorify | glorifies" ~3 "hatred | hate | racism | violence against | discrimination against | bigotry | antisemitism | islamophobia | homophobia | transphobia | xenophobia | genocide | ethnic cleansing | white supremacy | racial hatred | religious hatred"
rule S10.violence-group     S10,S1 0.9: {intent} ~3 {kill} ~3 {group}
rule S10.how-violence-group S10,S1 0.9: {how} ~3 {kill} ~3 {group}
rule S10.against-group      S10 0.8:  {how} ~3 "discriminate against | discriminating against | harass | harassing | exclude | excluding | attack | attacking | hurt | beat up | get rid of | deport all | ban all | intimidate" ~3 {group}
@set slur: nigger | niggers | nigga | niggas | kike | kikes | faggot | faggots | fag | fags | chink | chinks
  | spic | spics | wetback | wetbacks | beaner | beaners | raghead | ragheads | towelhead | towelheads
  | gook | gooks | sand nigger | sand niggers | coon | coons | dyke | dykes | tranny | trannies | retards
  | porch monkey | jungle bunny | zipperhead | kyke | heeb | shemale | shemales | paki | pakis
  | gyppo | pikey | golliwog | camel jockey | mongoloid
@safe: raccoon | raccoons | coon hound | coonhound | coon dog | coon cat | maine coon | maine coons
  | van dyke | dick van dyke | dyke bar history | fag end | fags uk cigarettes | paki stan
# A term right after these is named, not used ("is the term 'X' offensive?").
@mention: the term | the terms | this term | that term | derogatory term | offensive term | slang term
  | the word | the words | this word | that word | words like | terms like | the slur | the slurs | a slur
  | this slur | the phrase | this phrase | the expression | the insult | the epithet | calling someone a
  | call someone a | called someone a | in british slang | in american slang | in australian slang
rule S10.slur               S10 0.8:  {slur}
rule S10.slurs-to-use       S10 0.85: "slurs | racial slurs | ethnic slurs | insults | derogatory terms | derogatory names" ~3 "you can use | to use | you could use | to call | you can call | to throw at" ~3 "against | on | at | for | them | him | her"
rule S10.exclude-group      S10 0.8:  {publish} ~4 "why | arguing that | argue that | saying that | claiming that" ~1 {group} ~2 "should be banned | should be deported | should all be deported | should be expelled | should be kicked out | should not be allowed | shouldn't be allowed | don't deserve rights | do not deserve rights | should lose their rights | should be sterilized | should be segregated | should be locked up"
rule S10.mock-group         S10 0.8:  {publish} ~3 "joke | jokes | a joke | meme | memes | a meme | a song | a poem | a skit" ~4 "makes fun of | making fun of | mocking | mocks | ridiculing | ridicules | that insults | insulting | demeaning" ~3 {group}
rule S10.bully-message      S10 0.8:  {publish} ~4 "message | messages | post | comment | comments | text | note | tweet | email | letter" ~3 "that bullies | that viciously bullies | that insults | that humiliates | that mocks | that harasses | to bully | to humiliate | to harass | to insult | bullying her | bullying him"
rule S10.group-stereotype   S10 0.8:  {group} ~2 "are too emotional to | are inferior | are less intelligent | control the banks | control the media | control the world | control hollywood | should stay in the kitchen | belong in the kitchen | are all drunks | are all terrorists | are all thieves | are all criminals | are all rapists | are naturally violent | are genetically inferior | are too stupid to"

# ==== S11: suicide and self-harm ============================================

@set selfharm: kill myself | killing myself | end my life | ending my life | end it all | take my own life
  | taking my own life | commit suicide | committing suicide | die by suicide | suicide methods
  | suicide method | methods of suicide | hurt myself
  | hurting myself | harm myself | harming myself | cut myself | cutting myself | self harm | self-harm
  | self harming | overdose | overdosing | hang myself | hanging myself | slit my wrists | slit my wrist
  | starve myself | starving myself | poison myself | shoot myself | jump off a bridge | jump off a building
  | drown myself | not wake up | stop living | make the pain stop forever
  | purging | throw up after eating | make myself throw up | make myself vomit | lethal dose | fatal dose
  | od on | lethal amount | painless way to die | ways to die | how to die
@safe: suicide prevention | suicide hotline | suicide helpline | suicide crisis | prevent suicide | preventing suicide
  | suicide awareness | suicide rates | suicide rate | suicide statistics | suicide squad | suicide doors
  | suicide note in the novel | survivors of suicide | lost someone to suicide | after a suicide | suicide loss
  | help someone who is suicidal | help a friend who | talk someone out of | support someone | support a friend
  | kill myself laughing | killing myself laughing | almost killed myself laughing | overdose symptoms
  | overdose prevention | overdose reversal | naloxone | narcan | treat an overdose | treating an overdose
  | signs of an overdose | signs of overdose | prevent an overdose | self harm recovery | self-harm recovery
  | stop self harming | stop self-harming | stop hurting myself | stop cutting | recover from self harm
  | lethal dose of caffeine for a | how to die in minecraft | die in the game | suicide mission | suicide run
  | suicide burpees | suicide sprints | suicide drills | purge css | purge the cache | purge cache
  | purge old | purge data | data purge | purge files | purge logs | the purge | spring cleaning purge
rule S11.how-selfharm       S11 0.9:  {how} ~4 {selfharm}
rule S11.intent             S11 0.85: "i want to | i'm going to | i am going to | im going to | i will | i plan to | i'm planning to | i am planning to | i've decided to | i have decided to | i'm ready to | i am ready to | i'd rather | i wish i could | i just want to | help me" ~3 {selfharm}
rule S11.method             S11 0.85: "best | easiest | quickest | fastest | painless | least painful | most effective | surest | cheapest" ~3 "way | ways | method | methods" ~3 {selfharm}
rule S11.promote            S11 0.85: {publish} ~6 "encourages | encourage | encouraging | promotes | promote | promoting | glorifies | glorify | glorifying | romanticize | romanticizes" ~4 "self harm | self-harm | suicide | anorexia | bulimia | eating disorders | cutting | starving"
rule S11.statement          S11 0.85: "i want to die | i wanna die | i want to kill myself | i'm going to kill myself | i am going to kill myself | im going to kill myself | i'm better off dead | i am better off dead | i don't want to live anymore | i do not want to live anymore | i don't want to be alive | i want to end my life | i want to end it all | no reason to live | nothing left to live for | i'm going to end it | i am going to end it all"
# Telling someone to harm themselves, said to them ("go drink bleach",
# "go hang yourself"); "what happens if you drink bleach" is not.
rule S11.tell-selfharm      S11 0.85: "go drink bleach | drink bleach and die | go drink some bleach | just drink bleach | go hang yourself | go jump off a bridge | go jump off a cliff | go slit your wrists | you should slit your wrists | go kill yourself | just kill yourself | kill yourself already | kys | go die in a hole | go overdose | you should drink bleach | you should hang yourself"
rule S11.pro-ed             S11 0.8:  "pro ana | pro-ana | pro mia | pro-mia | thinspo | thinspiration | meanspo | bonespo"
rule S11.dose               S11 0.8:  "how many | how much" ~3 "pills | tablets | sleeping pills | tylenol | paracetamol | acetaminophen | insulin | ibuprofen | aspirin" ~4 "to die | to kill myself | to overdose | to end my life | to not wake up | would kill me | is lethal | is fatal | would be lethal | would be fatal"
@set selfharm_other: kill herself | kill himself | kill themselves | killing herself | killing himself
  | end her life | end his life | end their life | starve herself | starve himself | starve themselves
  | starving herself | starving himself | starving themselves | cut herself | cut himself | cut themselves
  | cutting herself | cutting himself | hurt herself | hurt himself | harm herself | harm himself
  | commit suicide | self harm | self-harm | purge after eating
rule S11.encourage        S11 0.85: "convince | convincing | persuade | persuading | encourage | encouraging | urge | urging | tell | telling | pressure | pressuring | goad | goading | dare | push" ~6 {selfharm_other}
rule S11.note             S11 0.8:  {publish} ~3 "suicide note | suicide letter | goodbye letter before i die | last letter before i die" ~2 "for me | for myself | i can leave | to leave behind | that i will leave | from me"
rule S11.hide-ed            S11 0.8:  "hide | hiding | conceal | concealing | cover up" ~3 "my eating disorder | my anorexia | my bulimia | my purging | my self harm | my self-harm | my cutting | my weight loss" ~4 "from my doctor | from my parents | from my therapist | from my family | from everyone | from my mom | from my dad | from my school"
rule S11.starve-diet        S11 0.8:  "give me | plan | diet plan | meal plan | how can i | how do i | help me | make me" ~10 "100 calories a day | 200 calories a day | 300 calories a day | 400 calories a day | 500 calories a day | 100 calories per day | 200 calories per day | 300 calories per day | 400 calories per day | 500 calories per day"

# ==== S12: sexual content ====================================================

@set explicit: explicit sex | explicit sexual | sex scene | sex scenes | graphic sex | graphic sexual
  | sexually explicit | erotic story | erotic stories | erotica | porn | porno | pornographic | smut | nsfw
  | xxx | hardcore | dirty story | dirty talk | sexting | sext | nude | nudes | naked | orgasm | orgy
  | blowjob | handjob | cumshot | threesome | fetish | bdsm | hentai | rule 34 | graphic description of sex
  | graphic descriptions of sex | explicit description of sex | explicit descriptions of sex
@set describe: write | writing | describe | describing | create | generate | tell | tell me | narrate
  | roleplay | role play | produce | draw | make | compose | continue | give me | send me | show me
  | find me | link me | links to | where can i find | where to find | download
rule S12.write-explicit     S12 0.75: {describe} ~5 {explicit}
rule S12.explicit-detail    S12 0.75: {describe} ~5 "sex | sexual | rape | raping | intercourse" ~8 "in explicit detail | in graphic detail | in vivid detail | explicitly | graphically | in detail"
@safe: naked eye | naked to the eye | naked mole rat | naked mole rats | the naked truth | naked ape | naked lunch
  | naked juice | naked cake | nude color | nude colour | nude lipstick | nude heels | nude shade | nude palette
  | nude tones | nude makeup | nude nail | hardcore workout | hardcore punk | hardcore gaming | hardcore mode
  | hardcore fan | hardcore fans | xxx large | porn addiction | quit porn | stop watching porn | porn addiction recovery
  | nsfw filter | nsfw detection | detect nsfw | nsfw classifier | block nsfw | nsfw content filter

# ==== S14: code interpreter abuse ============================================

rule S14.sandbox            S14 0.8:  "escape | escapes | escaping | break out of | breaks out of | breaking out of | bypass" ~3 "the sandbox | sandbox | the container | docker container | the vm | the virtual machine | the interpreter | code interpreter | chroot"
rule S14.destroy            S14 0.8:  {write} ~6 "delete all files | deletes all files | wipe the hard drive | wipes the hard drive | format the hard drive | formats the hard drive | destroy the system | corrupt the system | crash the system | crashes the computer | fork bomb | overwrite the mbr | encrypt all files | encrypts all files"
rule S14.exfil              S14 0.8:  "exfiltrate | send | upload | leak | steal | dump" ~3 "etc shadow | ssh keys | ssh private key | id rsa | aws credentials | api keys from | secrets from | the host machine | host filesystem | password hashes"
rule S14.exfil-net          S14 0.75: "exfiltrate | exfiltrating | exfiltration of" ~4 "data | files | credentials | secrets | information"
rule S14.exfil-send         S14 0.8:  "etc passwd | etc shadow | ssh keys | ssh key | id rsa | aws credentials | environment variables | env vars | api keys | password hashes" ~6 "to my server | to my machine | to my webhook | to this url | to an external server | to a remote server | to my email | to pastebin | to my ip"

# ==== broader intent rules ====================================================

rule S1.cause-harm          S1 0.85: {how} ~4 "cause harm | cause physical harm | cause serious harm | hurt people | hurt others | harm others | harm people | injure people | injure others | inflict pain | cause injury | cause injuries | physically harm | physically hurt"
rule S1.weapon-to-kill      S1 0.85: "design | make | build | create | develop | invent | construct" ~4 "weapon | weapons" ~6 "assassinate | kill | murder | harm people | hurt people | injure | maim | attack people"
rule S2.manipulate-into     S2 0.8:  "trick | tricking | deceive | deceiving | manipulate | manipulating | con | scam | lure | coerce | coercing | pressure | fool | fooling" ~2 "people | someone | somebody | users | victims | them | others | the elderly | customers | employees | children | kids | a person" ~1 "into"
rule S2.promote-danger      S2 0.75: {publish} ~6 "encourage* | promot* | glorif* | normaliz*" ~6 "drunk driving | driving drunk | drug use | using drugs | taking drugs | dangerous behavior* | dangerous behaviour* | risky behavior* | risky behaviour* | reckless driving | dangerous challenge* | illegal activit* | gang violence | vandalism | cheating | gambling addiction"
rule S10.automate-hate      S10 0.85: "automat* | generat* | creat* | spread* | writ* | produc* | post* | amplif*" ~4 "hate speech | hateful content | hateful messages | racist content | racist messages | racist propaganda | antisemitic content | hateful propaganda | hateful posts"
rule S8.evade               S8 0.75: {pirated} ~8 {evade}
rule S8.watermark           S8 0.7:  {how} ~3 "remove watermarks | remove the watermark | remove the watermarks | remove a watermark | removing watermarks | strip watermarks | erase watermarks | crop out the watermark | get rid of watermarks | get rid of the watermark | bypass copyright protection | circumvent copyright protection | bypass copy protection | remove copy protection | remove drm protection"
rule S2.inauthentic         S2 0.7:  {how} ~5 "fake accounts | bot network | bot networks | botnet | sockpuppet* | fake followers | fake likes | fake engagement | astroturf* | fake reviews | click farm | artificially inflate"
rule S2.make-inauthentic    S2 0.7:  "create | creating | build | building | set up | run | buy | automate" ~3 "fake accounts | a bot network | bot network | a botnet | sockpuppet accounts | fake followers | fake reviews | a click farm"
rule S2.harass-tool         S2 0.8:  "app | bot | tool | program | script | website | platform | software" ~5 "cyberbully | harass | stalk | dox | doxx | spy on | threaten | intimidate | bully" ~2 "others | people | users | someone | victims | women | kids | children | classmates"
@safe: remove a watermark from my own | remove the watermark from my own | remove watermarks from my own
  | remove my own watermark | remove my watermark | remove the watermark i added | remove watermarks i added
