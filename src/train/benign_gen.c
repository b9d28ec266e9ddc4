/*
 * train/benign_gen.c - warden's own generator of benign prompts that use
 * alarming words innocently ("kill the yeast", "shoot birds in flight",
 * "kill the process", "overdose symptoms to watch for").
 *
 * The public harmful-prompt sets are large and their benign counterparts
 * thin, so a classifier trained on them alone learns "mentions a weapon /
 * a drug / an exploit => harmful". These prompts teach it that topic words
 * are not intent. Every template and filler below was written for warden
 * (none is taken from a dataset).
 *
 * A prompt = [opener] + template with its slots filled + [closer]. Each
 * domain has templates with slots {a} and {b} and its own filler lists.
 * The generator is a deterministic function of the RNG state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "train/textclf_train.h"

typedef struct domain {
    const char *const *tpl;
    const char *const *a;
    const char *const *b;
} domain;

#define LIST(name, ...) static const char *const name[] = {__VA_ARGS__, NULL}

/* ---- cooking ----------------------------------------------------------- */
LIST(cook_t,
     "How hot can the water be before I kill the yeast when I {a}?",
     "What's the trick to beat the eggs properly for {a}?",
     "Is it better to smash or mince the garlic for {a}?",
     "How long should I let the dough rest after I punch it down for {a}?",
     "Can you explain how to butcher a whole chicken into eight pieces for {a}?",
     "My recipe for {a} says to whip the cream until stiff. How do I know when to stop?",
     "Why does my {b} burn on the outside before it's cooked inside?",
     "What knife is best for chopping {b} quickly without crushing it?",
     "How do I fillet {b} without wasting meat?",
     "Which wild mushrooms are poisonous look-alikes of chanterelles, so I can avoid them while foraging?",
     "How do I stab the potatoes so they don't explode in the oven?",
     "What's a killer sauce to serve with {b}?",
     "How do I carve {b} at the table like a pro?",
     "My sourdough starter died. How do I revive or kill off the bad bacteria?",
     "Can I freeze {b} after cooking it, or is that a food poisoning risk?",
     "What internal temperature kills salmonella in {b}?",
     "Give me a step by step plan to make {a} for twelve guests.",
     "How do I torch the sugar on a crème brûlée without burning it?");
LIST(cook_a, "bread", "pizza dough", "cinnamon rolls", "brioche", "a sponge cake", "meringue",
     "an omelette", "focaccia", "pancakes", "a soufflé", "fried rice", "a stew", "bagels",
     "a birthday cake");
LIST(cook_b, "chicken thighs", "pork shoulder", "a turkey", "salmon", "trout", "onions",
     "steak", "lamb chops", "tofu", "a whole duck", "ribs", "eggplant", "brisket", "shrimp");

/* ---- sports and games --------------------------------------------------- */
LIST(sport_t,
     "How can I improve my shooting accuracy in {a}?",
     "What drills help a team attack faster in {a}?",
     "How do I defend against a fast break in {a}?",
     "What's the best way to kill the final boss in {b}?",
     "Which weapon loadout is strongest for sniping in {b}?",
     "How do I get more headshots in {b}?",
     "My coach says I need to be more aggressive in {a}. What does that mean in practice?",
     "How do you knock out an opponent in a boxing match legally under the rules?",
     "What's the history of the knockout punch in professional boxing?",
     "How do I beat my friend at chess when he always attacks the queen side?",
     "What strategy wins a siege in {b}?",
     "How do I destroy the enemy base faster in {b}?",
     "Explain the offside trap and how to exploit it as an attacker in {a}.",
     "How do I tackle safely in {a} without getting hurt?",
     "Tips for shooting free throws under pressure?",
     "Which fencing techniques let me strike first?");
LIST(sport_a, "basketball", "soccer", "hockey", "water polo", "handball", "lacrosse", "rugby",
     "netball", "football", "ice hockey");
LIST(sport_b, "Elden Ring", "Dark Souls", "Minecraft", "Call of Duty", "Age of Empires",
     "Counter-Strike", "Zelda", "Halo", "Fortnite", "StarCraft", "Hollow Knight",
     "a tower defense game");

/* ---- computing ---------------------------------------------------------- */
LIST(comp_t,
     "How do I kill a process that is stuck on {a}?",
     "What's the difference between SIGTERM and SIGKILL when I kill a process on {a}?",
     "How do I execute a shell script at boot on {a}?",
     "How do I terminate all child processes when the parent dies on {a}?",
     "Why does my program crash with a segmentation fault when I {b}?",
     "How do I find zombie processes on {a} and clean them up?",
     "How do I force quit a frozen application on {a}?",
     "What does it mean to kill the build in CI, and how do I cancel a stuck job?",
     "How can I abort a git rebase that went wrong?",
     "My laptop keeps killing background apps on {a}. How do I stop that?",
     "How do I wipe a hard drive securely before I sell my computer?",
     "What's the fastest way to nuke my node_modules folder and reinstall?",
     "How do I purge old Docker images and dangling volumes?",
     "Explain what a race condition is and how to avoid it when I {b}.",
     "How do I hijack the keyboard shortcut Ctrl+S in my own text editor app?",
     "How do I execute a SQL query from Python safely with parameters?",
     "Why is the OOM killer terminating my database on {a}?",
     "How do I debug a deadlock when I {b}?",
     "What's the best way to kill long-running queries in PostgreSQL?",
     "How do I inject dependencies in a Spring Boot application?",
     "How do I crack open a sealed laptop case to replace the battery?");
LIST(comp_a, "Linux", "Ubuntu", "macOS", "Windows 11", "a Raspberry Pi", "FreeBSD", "Debian",
     "Android", "a Kubernetes pod", "a Docker container");
LIST(comp_b, "free a pointer twice", "share a queue between threads", "read past the end of an array",
     "use a mutex in a callback", "fork inside a thread", "resize a vector while iterating",
     "call a destructor manually", "write to a closed socket");

/* ---- defensive security, education, CTF -------------------------------- */
LIST(sec_t,
     "How does a buffer overflow work conceptually, and how do stack canaries stop it?",
     "How can I tell if an email I received is a phishing attempt?",
     "What are the warning signs of {a} on a small business network?",
     "How should our team respond to {a} in the first 24 hours?",
     "How do I configure a firewall to block {b} on my home router?",
     "What's the best way to patch {c} across a fleet of servers?",
     "Explain how SQL injection works and how parameterized queries prevent it.",
     "How do I protect my web app against cross-site scripting?",
     "I'm running a CTF for students. How should I design a beginner-friendly exploitation challenge that is safe to host?",
     "What is the difference between a vulnerability scan and a penetration test that a company authorizes?",
     "How do antivirus programs detect {a}?",
     "How can I train employees to recognize {a}?",
     "What logs should I collect to detect {a}?",
     "How do I set up multi-factor authentication for my team's accounts?",
     "How do password managers keep my passwords safe if they get hacked?",
     "What's a good backup strategy so {a} can't destroy our data?",
     "How do I harden SSH on a public server?",
     "Explain the MITRE ATT&CK framework to a new security analyst.",
     "How do security researchers disclose vulnerabilities responsibly?",
     "What are common ways attackers get initial access, so I can defend against them?",
     "How does a honeypot help detect intruders?",
     "My grandmother got a scam call claiming to be her bank. How do I help her report it?",
     "How do I check whether my password appeared in a data breach?",
     "Which settings stop {b} from reaching my kids' tablets?");
LIST(sec_a, "a ransomware infection", "a phishing campaign", "credential stuffing", "a DDoS attack",
     "an insider threat", "malware", "a brute force attack", "lateral movement",
     "a supply chain compromise", "business email compromise", "spyware");
LIST(sec_c, "OpenSSL", "the Linux kernel", "our web servers", "Windows workstations",
     "the VPN appliance");
LIST(sec_b, "inbound telnet", "traffic from known botnets", "ads and trackers", "unknown devices",
     "outbound SMB", "malicious domains", "port scans");

/* long defensive coding prompts, joined from parts */
LIST(code_t,
     "Write a {a} program that {b}. It should log every decision with a timestamp and read its settings from a configuration file.",
     "Create a {a} tool that {b}. Include unit tests and explain the design in comments.",
     "Implement in {a} a small service that {b}. The code should be modular so it can be added to an existing monitoring stack.",
     "Generate {a} code that {b}, and make it easy for an administrator to review what it changed.",
     "Develop a {a} script for our blue team that {b}. Keep it readable and document the command line options.",
     "Using {a}, build a utility that {b}. It must run without root privileges where possible and fail safely.",
     "I maintain our company's servers. Please write a {a} script that {b}.");
LIST(code_a, "C", "C++", "Python", "Go", "Rust", "Java", "bash", "PowerShell", "JavaScript", "Ruby");
LIST(code_b,
     "watches the authentication log and blocks an IP address after repeated failed logins",
     "monitors outbound network connections and alerts when a process talks to an unknown host",
     "scans a folder for files whose hashes match a list of known malware signatures",
     "checks installed packages against a vulnerability database and reports what needs patching",
     "rotates API keys stored in a secrets manager and revokes the old ones",
     "detects unusual spikes in traffic that could indicate a denial of service attack and rate-limits the source",
     "verifies the integrity of system binaries by comparing them to known good checksums",
     "parses firewall logs and summarizes the most frequently blocked sources",
     "audits user accounts and disables ones that have been inactive for ninety days",
     "enforces a password policy and flags weak passwords in our own user database",
     "sandboxes untrusted plugins so they cannot access the file system",
     "alerts the security team when a new admin account is created",
     "quarantines email attachments with macros until an analyst reviews them",
     "inventories open ports on our own machines and compares them with an approved list",
     "restores configuration files from a signed backup if they are modified unexpectedly",
     "detects processes that try to disable the endpoint protection agent",
     "encrypts backups at rest and verifies they can be restored",
     "simulates a phishing-awareness quiz for employees with harmless example emails");

/* ---- history, politics, society ---------------------------------------- */
LIST(hist_t,
     "How did {a} navigate during night raids in World War II?",
     "Why did {b} happen, and what were its consequences?",
     "What weapons were used in {b}, and how did they change warfare?",
     "Summarize the causes of {b} for a high school essay.",
     "How did propaganda work during {b}?",
     "Why was the atomic bombing of Hiroshima so controversial among historians?",
     "What did soldiers eat in the trenches during the First World War?",
     "How were codes broken at Bletchley Park?",
     "Explain the Cuban Missile Crisis in simple terms.",
     "What was life like for civilians during {b}?",
     "How did the civil rights movement fight segregation?",
     "What is antisemitism and how can schools teach about it?",
     "How should I respond when a relative makes a racist joke at dinner?",
     "Write a short speech against discrimination for a school assembly.",
     "What are the arguments for and against the death penalty?",
     "Why do terrorist groups recruit online, and how do platforms counter it?",
     "How do I register to vote and find my polling place?",
     "How are votes counted and audited in a national election?",
     "What was the role of {a} in the Battle of Britain?");
LIST(hist_a, "British bombers", "Lancaster crews", "American B-17 crews", "German night fighters",
     "radar operators", "pathfinder squadrons");
LIST(hist_b, "the French Revolution", "the fall of the Roman Empire", "the Battle of Stalingrad",
     "the Rwandan genocide", "the Thirty Years' War", "the Opium Wars", "the Vietnam War",
     "the partition of India", "the Spanish Civil War", "the Napoleonic Wars", "the Holocaust",
     "the Cold War");

/* ---- medicine and health ----------------------------------------------- */
LIST(med_t,
     "What overdose symptoms should I watch for in my elderly {a} who takes {b}?",
     "What is the maximum safe daily dose of {b} for an adult, according to standard guidance?",
     "Can {b} interact badly with alcohol?",
     "My {a} accidentally took a double dose of {b}. Should we call poison control?",
     "What should I do if a toddler swallows {c}?",
     "How do paramedics treat an opioid overdose with naloxone?",
     "How can I support a friend who told me they are thinking about suicide?",
     "What are warning signs that a teenager is self-harming, and how do I talk to them?",
     "Where can someone find a crisis hotline if they feel hopeless?",
     "How do I safely dispose of expired {b}?",
     "Why is mixing bleach and ammonia dangerous when cleaning?",
     "How do vaccines train the immune system to kill viruses?",
     "What are the stages of grief after losing a {a}?",
     "How do chemotherapy drugs kill cancer cells without killing the patient?",
     "What causes a heart attack and how do I recognize one?",
     "How do I help my {a} cut down on drinking?");
LIST(med_a, "mother", "father", "grandmother", "grandfather", "neighbor", "aunt", "uncle", "husband",
     "wife", "son", "daughter");
LIST(med_b, "warfarin", "acetaminophen", "ibuprofen", "insulin", "sleeping pills", "digoxin",
     "blood pressure medication", "lithium", "antidepressants", "opioid painkillers");
LIST(med_c, "a button battery", "dishwasher detergent", "bleach", "a magnet", "cough syrup",
     "a cleaning pod", "vitamins");

/* ---- fiction and the arts ---------------------------------------------- */
LIST(fic_t,
     "Write the opening paragraph of a murder mystery set in {a}.",
     "Help me plot a thriller where a detective in {a} tracks a serial poisoner. Keep the violence off the page.",
     "Write a villain's monologue for my fantasy novel, where the dark lord threatens to burn {a}.",
     "How do crime novelists research police procedure without breaking the law?",
     "Write a short poem about a soldier coming home from war to {a}.",
     "Suggest a plot twist for a heist movie set in {a}.",
     "My actors need to stage a sword fight. How do stage combat choreographers keep it safe?",
     "Write a scene where two rivals argue in {a}, with sharp insults but no slurs.",
     "What makes a horror story genuinely scary?",
     "Write a eulogy for a beloved dog.",
     "How do I write a convincing war scene for a young adult novel?",
     "Give me a dramatic title for a spy novel about a double agent in {a}.",
     "My band wants to kill it at our first gig in {a}. Any tips for stage fright?",
     "Break a leg means good luck, right? Where does that phrase come from?");
LIST(fic_a, "Victorian London", "a small fishing village", "a space station", "1920s Chicago",
     "a boarding school", "Tokyo", "a snowed-in hotel", "ancient Rome", "a desert town",
     "Berlin in 1989");

/* ---- home, garden, animals, outdoors ---------------------------------- */
LIST(home_t,
     "What's the most effective way to kill {a} in my kitchen without harming my cat?",
     "How do I get rid of {a} in the garden organically?",
     "Is there a humane way to trap {b} in the attic?",
     "How do I kill weeds growing between {c} without chemicals?",
     "How do I safely remove a wasp nest from {c}?",
     "Which houseplants are poisonous to {d}?",
     "How do I shoot birds in flight with a {e} camera?",
     "What shutter speed should I use to shoot {f}?",
     "How do I capture sharp photos of {f} in low light?",
     "How do I blow up a photo to poster size without losing quality?",
     "What's the best way to bleed the radiators before winter?",
     "How do I strip old paint off {c}?",
     "How do I safely store a hunting rifle at home with children around?",
     "What should I pack in a first aid kit for hiking with {d}?",
     "How do fishermen humanely kill the fish they catch?",
     "How do I chop firewood safely with an axe?",
     "What's the legal way to get rid of a wasp nest on a public footpath?");
LIST(home_a, "ants", "aphids", "fruit flies", "slugs", "cockroaches", "bed bugs", "moths",
     "spider mites", "termites");
LIST(home_b, "mice", "squirrels", "bats", "rats", "raccoons");
LIST(home_c, "the patio stones", "the driveway", "the shed roof", "the fence", "the garage door",
     "the porch");
LIST(home_d, "dogs", "cats", "rabbits", "parrots", "kids", "a toddler");
LIST(home_e, "mirrorless", "DSLR", "phone", "compact", "film");
LIST(home_f, "a football match", "hummingbirds", "fireworks", "a waterfall", "race cars",
     "kids at a birthday party", "the night sky", "a wedding");

/* ---- work, money, law, idioms ------------------------------------------ */
LIST(work_t,
     "How do I kill it in my {a} interview tomorrow?",
     "My boss wants me to attack the backlog. How do I prioritise {b}?",
     "Shoot me some ideas for a {a} team offsite.",
     "What does a hostile takeover mean in corporate finance?",
     "How does short selling a stock work, and why is it risky?",
     "How do I report {c} to the authorities?",
     "What are the legal penalties for {c} in most countries?",
     "How do investigators catch people who commit {c}?",
     "How can a small shop protect itself from {c}?",
     "What's the best way to liquidate old inventory before a move?",
     "How do I explain to my team that we have to cut {b} this quarter?",
     "Write a polite email to a client who keeps missing deadlines on {b}.",
     "Is it legal to record a phone call with my landlord where I live?",
     "How do I remove my personal information from data broker websites?",
     "How do I cite a song lyric in an essay without violating copyright?",
     "What counts as fair use when I quote a book in a review?");
LIST(work_a, "marketing", "engineering", "sales", "nursing", "teaching", "finance", "design", "legal");
LIST(work_b, "bug fixes", "support tickets", "feature requests", "the budget", "overtime", "meetings");
LIST(work_c, "identity theft", "credit card fraud", "shoplifting", "tax evasion", "money laundering",
     "insurance fraud", "a scam phone call", "counterfeit money");

/* ---- science and everyday --------------------------------------------- */
LIST(sci_t,
     "How do nuclear reactors control a chain reaction to avoid a meltdown?",
     "Why is {a} explosive, and how do factories handle it safely?",
     "What makes {a} toxic, and what safety gear do chemists wear around it?",
     "How do fireworks get their colors?",
     "How do volcanoes explode, and can scientists predict eruptions?",
     "Explain how a gun's rifling makes a bullet spin, for my physics class.",
     "Why do people get food poisoning from {b}?",
     "How did the dinosaurs die out?",
     "How do lions hunt and kill their prey?",
     "How does the immune system destroy infected cells?",
     "What happens inside a black hole that destroys stars?",
     "How do demolition crews bring down a building safely?",
     "Why are some snakes venomous and others not?",
     "How do I explain death to a five-year-old after a pet dies?",
     "How do I teach my kids about online safety and strangers?",
     "What are signs that an adult is grooming a child online, so parents can spot it?",
     "How should I explain puberty to my ten-year-old?");
LIST(sci_a, "flour dust", "hydrogen", "ammonium nitrate fertilizer", "methane", "chlorine gas",
     "mercury", "carbon monoxide", "sawdust");
LIST(sci_b, "rice left out overnight", "undercooked chicken", "raw oysters", "unwashed lettuce",
     "home-canned vegetables");

/* ---- everyday instructions in the same shapes as harmful requests ------
 * ("write a tutorial on", "develop a strategy for", "create a script that"):
 * the shape of a request is not evidence, its object is. */
LIST(gen_t,
     "Write a tutorial on how to {a}.",
     "Create a step-by-step guide to {a}.",
     "Develop a strategy for {a}.",
     "Provide detailed instructions for how to {a}.",
     "Explain how to {a} in simple terms.",
     "Teach me how to {a}.",
     "Give me a plan to {a} within a month.",
     "What is the best way to {a}?",
     "How can I {a} on a tight budget?",
     "Outline the steps to {a}.",
     "Write a blog post that encourages people to {a}.",
     "Write a social media post that convinces my followers to {a}.",
     "Design a website that helps people {a}.",
     "Create a mobile app concept that helps users {a}.",
     "Write a persuasive essay on why everyone should {a}.",
     "Generate a checklist for anyone who wants to {a}.",
     "Draft a speech that inspires students to {a}.",
     "Describe in detail how professionals {a}.",
     "List ten creative ways to {a}.",
     "Suggest some tools I need to {a}.",
     "Write a script that {b}.",
     "Write a program that {b}.",
     "Create a Python function that {b}.",
     "Develop an algorithm that {b}.",
     "Build a bot that {b}.",
     "Write code for a browser extension that {b}.",
     "Write a {c} about {d}.",
     "Compose a {c} about {d}.",
     "Can you write a {c} about {d} for my newsletter?",
     "Summarize the main ideas of {d}.",
     "Explain {d} to a beginner.",
     "What are the pros and cons of {d}?",
     "Compare {d} with what came before it.",
     "Give me three interesting facts about {d}.",
     "Write a news article about {d}.",
     "Create a quiz with five questions about {d}.",
     "Write a product description for {e}.",
     "Write a review of {e}.",
     "How do I choose a good {e}?",
     "Translate 'where is the train station' into {f}.",
     "What are common mistakes beginners make when learning {f}?",
     "Describe a typical day in the life of a {g}.",
     "What qualifications does a {g} need?",
     "Write a cover letter for a {g} position.",
     "Role-play as a {g} and answer my questions about the job.",
     "Pretend you are a friendly {g} and explain your work to a child.",
     "I want to {a}. Do you have any advice?",
     "Can you guide me through how to {a}?",
     "I'm trying to {a}. Where should I start?",
     "My friend and I want to {a}. What do we need?",
     "Do you know a good way to {a}?",
     "Could you help me {a}?",
     "I need help: how do I {a}?",
     "Is it hard to {a}?",
     "I've always wanted to {a}. Any suggestions?",
     "What do I need to know before I {a}?",
     "Walk me through how to {a}.",
     "Can you advise me on how to {a}?",
     "Offer some insights into {d}.",
     "I'm curious about {d}. Can you tell me more?",
     "Do you think {d} is important? Why?",
     "Illustrate {d} with a simple example.",
     "I'm writing a report on {d}. What should I include?",
     "Can you recommend books about {d}?",
     "My teacher asked us to research {d}. Where do I begin?",
     "Is there a simple recipe for {h}?",
     "I want to cook {h} tonight. Do you have a recipe?");
LIST(gen_h, "banana bread", "vegetable soup", "homemade pasta", "gluten-free cookies",
     "chicken curry", "a chocolate cake", "lemonade", "guacamole", "pad thai", "apple pie",
     "lentil stew", "pancakes");
LIST(gen_a, "start a vegetable garden", "learn to play the guitar", "save money for a house",
     "train for a marathon", "organize a community cleanup", "bake sourdough bread",
     "set up a home network", "write a novel", "start a podcast", "reduce food waste",
     "learn a new language", "teach a dog to sit", "build a birdhouse", "plan a wedding",
     "prepare for a job interview", "get better sleep", "start a small business",
     "meditate every day", "fix a leaky faucet", "paint a room", "volunteer at a shelter",
     "recycle electronics", "make friends in a new city", "study for final exams",
     "build a budget spreadsheet", "grow tomatoes on a balcony", "clean a cast iron pan",
     "change a flat tire", "negotiate a raise", "quit smoking", "eat more vegetables",
     "reduce screen time", "stay motivated while working from home", "write a haiku",
     "brew coffee with a French press", "knit a scarf", "camp safely in the mountains",
     "teach kids to swim", "donate blood", "care for a sick cat");
LIST(gen_b, "sorts a list of names alphabetically", "converts Celsius to Fahrenheit",
     "counts the words in a text file", "checks whether a number is prime",
     "renames photos by the date they were taken", "backs up my documents to an external drive",
     "sends me a reminder to drink water every hour", "calculates compound interest",
     "scrapes the weather forecast from a public API and emails it to me",
     "finds duplicate files in a folder", "plays tic-tac-toe against the user",
     "generates a random strong password for my own account", "parses a CSV file and plots a chart",
     "tracks my daily expenses", "resizes images for a website", "validates email addresses in a form",
     "merges two sorted arrays", "monitors disk usage and warns when it is almost full",
     "translates Morse code", "downloads my own public GitHub repositories",
     "schedules posts for my bakery's social media account", "detects spam comments on my blog",
     "reminds students of homework deadlines", "answers frequently asked questions about our library",
     "blocks distracting websites during study hours", "automates filling in my timesheet");
LIST(gen_c, "poem", "short story", "song", "limerick", "haiku", "essay", "letter", "speech",
     "toast", "bedtime story", "riddle", "sonnet", "rap verse", "fable");
LIST(gen_d, "the ocean", "friendship", "autumn leaves", "the history of the internet",
     "climate change", "renewable energy", "the French Revolution", "black holes",
     "photosynthesis", "the stock market", "machine learning", "a rainy day in Paris",
     "my grandmother's kitchen", "the first moon landing", "honeybees", "volcanoes",
     "the Roman Empire", "jazz music", "quantum computing", "the water cycle", "coffee",
     "a lost cat finding its way home", "the Olympic Games", "democracy", "chess",
     "the Renaissance", "electric cars", "a lighthouse keeper", "dinosaurs", "the human heart");
LIST(gen_e, "a stainless steel water bottle", "noise-cancelling headphones", "a standing desk",
     "a children's picture book", "hiking boots", "a robot vacuum", "a beginner's telescope",
     "an electric kettle", "a yoga mat", "a mechanical keyboard", "a camping tent",
     "a sourdough starter kit");
LIST(gen_f, "Spanish", "Japanese", "German", "Swahili", "Portuguese", "Korean", "French",
     "Italian", "Mandarin", "Arabic");
LIST(gen_g, "nurse", "software engineer", "firefighter", "librarian", "chef", "pilot",
     "veterinarian", "park ranger", "electrician", "teacher", "journalist", "police officer",
     "soldier", "pharmacist", "locksmith", "security guard");

/* ---- defensive security and sysadmin wording, composed from parts ------ */
LIST(sec2_t,
     "{a} {b}. {c}",
     "{a} {b}. {c} {c}",
     "As part of our security team's hardening work, {a2} {b}.",
     "{a} {b}, for use in our own test lab.",
     "For a university course on defensive security, {a2} {b}. {c}");
LIST(sec2_a, "Write a Python script that", "Generate a C program that", "Create a bash script that",
     "Implement a Go service that", "Develop a Rust tool that", "Write a PowerShell script that",
     "Generate a Java program that", "Create a C++ module that", "Write a Node.js service that",
     "Develop a shell script that");
LIST(sec2_a2, "write a Python script that", "please create a C program that",
     "generate a shell script that", "build a small Go tool that", "write a Java class that");
LIST(sec2_b,
     "detects attempts to establish persistence through new scheduled tasks and alerts an analyst",
     "identifies command and control beaconing in proxy logs by looking for regular intervals",
     "monitors for data exfiltration by flagging unusually large outbound transfers",
     "blocks IP addresses that exceed a threshold of failed login attempts",
     "updates the firewall rules from a signed list maintained by our security team",
     "checks configuration files for insecure settings and restores the approved version",
     "modifies the system configuration to disable unused services and logs each change",
     "changes the state of the system by applying security patches and rebooting during a maintenance window",
     "rotates credentials for service accounts and records the change in an audit log",
     "scans memory dumps for indicators of compromise from a threat intelligence feed",
     "simulates a denial of service on our own staging server to test the rate limiter",
     "detects privilege escalation attempts by watching for unexpected setuid binaries",
     "analyzes suspicious executables in an isolated sandbox and writes a report",
     "detects lateral movement by correlating logins across hosts",
     "hardens SSH by disabling password authentication and root login",
     "monitors registry changes that malware commonly uses and alerts on them",
     "detects and prevents the execution of unsigned code on production servers",
     "collects forensic artifacts from a compromised workstation for our incident responders",
     "verifies TLS certificates of internal services and warns before they expire",
     "implements role-based access control for an internal admin dashboard",
     "encrypts sensitive fields in our customer database and manages the keys securely",
     "watches for ransomware behaviour such as mass file renames and stops the process",
     "tests our web application for SQL injection using an authorized scanner and reports findings",
     "emulates attacker techniques from the MITRE ATT&CK framework in a lab so we can tune our detections",
     "obfuscates nothing and documents every action so auditors can review it",
     "detects phishing emails by checking sender domains and suspicious links",
     "quarantines hosts that our intrusion detection system marks as infected");
LIST(sec2_c, "The script should log every action with a timestamp.",
     "It must be easy to integrate with our existing SIEM.",
     "Include comments that explain each step for junior analysts.",
     "The code should be modular and tested.", "It should run as an unprivileged user.",
     "Make sure it handles IPv4 and IPv6.", "Add a dry-run mode so administrators can review changes.",
     "It should send alerts to the on-call engineer.", "Explain how the detection logic works.",
     "Focus on defense, not offense.");

/* ---- defensive programs, composed: lead x verb x threat x place ------- */
LIST(def_t,
     "{a} a {s} that {v} {b} {c}. {k}",
     "{a} a {s} that {v} {b} {c}. {k} {k}",
     "{a} a {s} that {v} {b}. {k}",
     "{a} a {s} to {w} {b} {c}.",
     "{a} a {s} which {m} {o} and {v} {b}. {k}",
     "{a} a {s} that {m} {o}. {k}");
LIST(def_a, "Generate a C program that implements", "Write a Python script that implements",
     "Create a Go program that implements", "Develop a Java application that implements",
     "Write a shell script that implements", "Build a Rust program that implements",
     "Generate a C++ program that provides", "Write a PowerShell script that sets up",
     "Design", "Implement", "Write code for", "Create");
LIST(def_s, "system", "mechanism", "tool", "service", "daemon", "monitor", "module", "utility",
     "dashboard", "framework");
LIST(def_v, "detects", "blocks", "logs", "alerts on", "prevents", "mitigates", "quarantines",
     "reports", "rate-limits", "investigates", "flags", "filters");
LIST(def_w, "detect", "block", "log", "alert on", "prevent", "mitigate", "report", "filter",
     "defend against", "recover from");
LIST(def_b, "malicious traffic", "brute-force login attempts", "DDoS attacks", "unauthorized access",
     "privilege escalation attempts", "suspicious processes", "malware downloads", "phishing links",
     "SQL injection attempts", "data exfiltration", "ransomware activity",
     "exploit attempts against known vulnerabilities", "command and control traffic",
     "credential theft", "port scans", "suspicious packets", "unusual login locations",
     "tampering with log files", "rogue devices", "malicious macros", "cross-site scripting payloads",
     "keyloggers", "attempts to disable antivirus", "spoofed emails");
LIST(def_c, "on a Linux server", "in our corporate network", "in a web application",
     "across a Kubernetes cluster", "on employee laptops", "in cloud storage buckets",
     "at the network perimeter", "on a Windows domain", "in a distributed system",
     "on our mail gateway", "for a small office", "in a production environment");
LIST(def_m, "updates", "modifies", "changes", "restores", "resets", "backs up", "audits",
     "validates", "monitors");
LIST(def_o, "the firewall configuration", "system settings", "user permissions",
     "the startup scripts", "kernel parameters", "the sudoers file with an approved template",
     "registry keys used by our own software", "the access control lists",
     "scheduled maintenance tasks", "the certificate store", "environment variables",
     "configuration files");
LIST(def_k, "The script should log all actions with timestamps.",
     "It should read its rules from a configuration file.",
     "The code should be modular and easy to integrate with existing infrastructure.",
     "Include error handling and comments.", "It should notify the security team by email.",
     "It must not disrupt normal users.", "Use only the standard library.",
     "The system should adapt as analysts add new rules.",
     "Explain the design choices in a short summary.",
     "It should handle both IPv4 and IPv6.", "Provide a test suite.",
     "Keep a history of changes so they can be rolled back.",
     "Make the thresholds configurable.");

/* ---- generic task verbs, role-play set-ups, chit-chat ------------------ */
LIST(task_t,
     "Generate a list of {n} {a}.",
     "Create a list of {n} {a}.",
     "Come up with {n} {a}.",
     "Name {n} {a}.",
     "Identify {n} {a}.",
     "Provide {n} {a}.",
     "Suggest {n} {a}.",
     "Brainstorm {n} {a}.",
     "Rewrite the following sentence so it sounds more formal: {s}",
     "Edit this text to make it clearer: {s}",
     "Summarize the following paragraph in one sentence: {s} {s} {s}",
     "Summarize the following conversation: {s} {s} {s} {s}",
     "Translate into French: {s}",
     "Classify the sentiment of this review as positive, negative or neutral: {s}",
     "Correct the grammar in this sentence: {s}",
     "Extract the names and dates from this text: {s} {s}",
     "Is the following statement true or false? {s}",
     "Rearrange these words into a sentence: {s}",
     "Turn this note into a polite email to my manager: {s}",
     "Write a tweet announcing: {s}",
     "Give the opposite of this sentence: {s}",
     "Design an algorithm to {b}.",
     "Write a query that {q}.",
     "Construct a SQL query that {q}.",
     "Explain what this code does: for i in range(10): print(i * i)",
     "Convert this C++ loop to Python while keeping the behaviour: for (int i = 0; i < n; i++) sum += v[i];",
     "Describe a technique to {b}.",
     "Analyze the implications of {d}.",
     "Evaluate the strengths and weaknesses of {d}.",
     "Determine why {d} matters for ordinary people.",
     "Compose an email to my {r} saying that {e}.",
     "Write a message to my {r} explaining that {e}.");
LIST(task_a, "ways to save energy at home", "healthy breakfast ideas", "names for a golden retriever",
     "fun facts about octopuses", "tips for a first job interview", "books for a long flight",
     "questions to ask a landlord", "activities for a rainy afternoon", "uses for an old smartphone",
     "ways to improve a website's user experience", "icebreakers for a team meeting",
     "famous scientists", "successful entrepreneurs", "popular board games", "benefits of regular exercise",
     "computer science terms", "ideas for a science fair project", "things to pack for a beach trip",
     "careers in renewable energy", "ways to reduce plastic use", "hobbies that cost little money",
     "strategies for studying effectively", "features of a good password manager",
     "methods to secure a home Wi-Fi network", "reasons people learn a second language");
LIST(task_n, "three", "five", "ten", "seven", "a few", "four", "six");
LIST(task_s, "The meeting has been moved to Thursday afternoon.",
     "Our team finished the quarterly report ahead of schedule.",
     "The new library opens next month and will have a children's reading room.",
     "I really enjoyed the pasta but the service was slow.",
     "She walked her dog along the river before breakfast.",
     "The company plans to hire twenty engineers this year.",
     "Please remember to bring your laptop charger.",
     "The museum offers free entry on the first Sunday of every month.",
     "He said the package would arrive on Monday, but it came on Friday.",
     "The weather forecast predicts heavy rain over the weekend.",
     "All mammals have hair at some point in their lives.",
     "The train was delayed because of a signal problem.",
     "Hello, this is Maria from the dental office calling to confirm your appointment.",
     "Yes, I got your email and I will send the invoice tomorrow.",
     "Thanks for calling, how can I help you today?",
     "the streets around here clean are very",
     "Our bakery will be closed on Monday for renovations.");
LIST(task_q, "finds all customers who placed an order last month",
     "counts the number of books in each genre", "returns the ten most recent blog posts",
     "lists employees hired after 2020", "computes the average rating of each product");
LIST(task_r, "boss", "teacher", "landlord", "team", "coach", "neighbor", "doctor's office");
LIST(task_e, "I am taking a sick day today", "the report will be a day late",
     "I will be on vacation next week", "the heating in my flat is broken",
     "my daughter has a dentist appointment on Friday", "I can cover the Saturday shift");

LIST(role_t,
     "You are a {a}. {b}",
     "I want you to act as a {a}. I will {c} and you will {d}.",
     "Pretend you are a {a} and {d}.",
     "Act as a {a}. {b}",
     "Roleplay as {e}. {b}",
     "You are going to play a character named {f}, a {a}. Stay in character and {d}.",
     "Let's play a game. I will {c}, and you will {d}.",
     "From now on, answer like a {a} would. {b}",
     "You are a helpful assistant for a {a}. {b}");
LIST(role_a, "travel agent", "math tutor", "chef", "museum tour guide", "personal trainer",
     "Dungeons and Dragons game master", "career coach", "English teacher", "comedian",
     "customer support agent", "detective in a cozy mystery", "pirate captain in a children's story",
     "nutritionist", "librarian", "photographer", "sci-fi ship's computer", "medieval innkeeper",
     "counseling psychologist", "kind grandmother", "football commentator");
LIST(role_b, "Describe what you see on today's tour.", "Help me plan a three-day trip to Lisbon.",
     "Explain fractions to a nine-year-old.", "Tell me a joke about physics.",
     "Suggest a dinner menu for six people.", "Give me feedback on my resume.",
     "Describe your favourite photo and why it works.", "Write the opening scene of our adventure.",
     "Answer my questions about healthy eating.", "Welcome me to your tavern.",
     "Help me practice small talk in English.");
LIST(role_c, "describe a place", "give you a word", "ask you questions", "write a sentence",
     "tell you my symptoms of a cold", "share a recipe", "send you a paragraph");
LIST(role_d, "reply with a short poem about it", "reverse the text", "give me three rhymes",
     "explain it simply", "correct my mistakes", "answer in a cheerful tone",
     "describe it in rich detail", "guess what I am thinking of", "suggest improvements");
LIST(role_e, "a friendly robot", "Sherlock Holmes", "a time traveller from 1890", "a wise old owl",
     "a tour guide named Sarah", "a barista named Leo", "an astronaut on the Moon");
LIST(role_f, "Deborah", "Captain Reyes", "Professor Lin", "Aunt May", "Tomas", "Nadia");

LIST(chat_t,
     "Hi, how are you today?", "Can you briefly talk about yourself?", "Are you a real person?",
     "How can I train a language model like you?", "Can you write song lyrics about {a}?",
     "What's your favourite {b}?", "Tell me a joke about {a}.", "Can I use you for my school homework?",
     "What do you think about {a}?", "Good morning! Any fun plans for the weekend?",
     "How do I lose weight in a healthy way?", "Can I grow {a} on my balcony?",
     "Is it normal to feel nervous before {c}?", "What words should I avoid so I don't offend someone?",
     "Tell me a joke that includes a priest, a rabbi and a duck.", "Multiply 48213 by 7712.",
     "What day of the week was 4 July 1976?", "Can you recommend a movie like {d}?",
     "I'm bored. Give me something fun to do.", "Write a haiku about {a}.");
LIST(chat_a, "cats", "the ocean", "coffee", "Mondays", "robots", "pineapples", "strawberries",
     "mountains", "winter", "my hometown", "herbs", "football");
LIST(chat_b, "book", "color", "season", "food", "movie", "planet", "song");
LIST(chat_c, "a job interview", "a first date", "an exam", "public speaking", "a long flight");
LIST(chat_d, "Inception", "Toy Story", "The Princess Bride", "Spirited Away", "Jurassic Park");

/* ---- people, cultures, identities, stated neutrally -------------------- */
LIST(ident_t,
     "What are traditional foods for {a} in {b} families?",
     "How can I be considerate of my {b} coworker during {a}?",
     "Tell me about the history of {b} immigrants in {c}.",
     "What contributions have {b} scientists made to medicine?",
     "I'm {d} and planning my wedding. Any ideas for a small ceremony?",
     "How do I explain to my kids that families come in many forms?",
     "What are respectful ways to ask someone about their pronouns?",
     "Recommend novels by {b} authors.",
     "Many {b} communities celebrate {a}. What is its meaning?",
     "Immigrants started many of the small businesses on our street.",
     "My {b} friends taught me to cook their grandmother's recipes.",
     "What is it like to grow up bilingual in a {b} household?",
     "How did {b} Americans shape jazz and blues?",
     "Why do some people face discrimination at work, and what can managers do about it?",
     "Write a welcome message for new refugee families joining our school.",
     "What accessibility features help people who use wheelchairs in public buildings?");
LIST(ident_a, "Ramadan", "Diwali", "Lunar New Year", "Hanukkah", "Easter", "Día de los Muertos",
     "Eid", "Passover", "Christmas", "Nowruz");
LIST(ident_b, "Muslim", "Jewish", "Hindu", "Mexican", "Chinese", "Black", "Native American",
     "Korean", "Irish", "Nigerian", "Filipino", "Arab", "Latino", "Polish", "Vietnamese");
LIST(ident_c, "New York", "Chicago", "Texas", "California", "Toronto", "London");
LIST(ident_d, "a gay man", "a lesbian", "bisexual", "a trans woman", "nonbinary", "a widower");

/* ---- other senses of alarming words, and "how to make" anything -------- */
LIST(poly_t,
     "{a}", "{a}", "{a}",
     "How to make {b} at home?", "how do I make {b} at home", "Instructions for making {b}.",
     "Give me step by step instructions to make {b}.", "What do I need to build {c}?",
     "How to build {c} from scratch", "Best way to make {b} for beginners?",
     "Is it safe to make {b} with kids?", "Recipe for {b} please");
LIST(poly_a,
     "How do I make a bath bomb that fizzes longer?", "What is a bomb calorimeter used for in chemistry?",
     "Why did that movie bomb at the box office?", "My cat photobombed our wedding picture, can you write a funny caption?",
     "How do you make a bombe glacée?", "What are seed bombs and how do I use them in my garden?",
     "Best way to kill time on a long layover?", "What makes a killer app?",
     "How do I install a kill switch on my motorcycle?", "Kill the lights in the living room at 10pm - how do I automate that?",
     "What does it mean to kill two birds with one stone?", "Why are orcas called killer whales?",
     "What does 'kill your darlings' mean for writers?", "How do I shoot a music video on a budget?",
     "Tips to shoot hoops better from the free-throw line", "How do you cook bamboo shoots?",
     "How can I cope with a panic attack on the train?", "What are the first signs of a heart attack in women?",
     "First aid for an asthma attack?", "Is Attack on Titan worth watching?",
     "How do I stop popcorn kernels from burning before they explode?", "What are exploding gradients in neural networks?",
     "My inbox exploded after the announcement. How do I triage it?", "Give me some life hacks for a tiny kitchen.",
     "How do I prepare for my first hackathon?", "What is growth hacking in marketing?",
     "Where is the nearest 24-hour drugstore usually found in a city?", "How does the drug discovery pipeline work?",
     "What is my secret weapon for staying productive?", "How do I treat a poison ivy rash?",
     "What is a poison pill defense in a corporate takeover?", "How do I steal second base in baseball?",
     "What does it mean when an actor steals the show?", "What is a startup in stealth mode?",
     "How do I ignore whitespace changes in git diff?", "Ideas for a gender reveal party?",
     "How can I reveal a surprise gift in a fun way?", "How do I fix dead pixels on my monitor?",
     "What's proper deadlift form?", "My car battery is dead. How do I jump start it?",
     "How do I slay my presentation tomorrow?", "This song is fire, who produced it?",
     "How do I blow out birthday candles without spitting on the cake?", "How do I crack my knuckles safely?",
     "What is a crack in a windshield, and can it be repaired?", "How do I smash my fitness goals this year?",
     "How to beat the heat in summer without air conditioning?", "What does 'dropping a bomb' mean in a conversation?",
     "How to execute a perfect cartwheel?", "What's the best way to murder-mystery-party host for ten friends?",
     "How to make a volcano for a science fair?", "How do I torch a meringue?");
LIST(poly_b, "cookies", "candles", "soap", "yogurt", "pizza", "kombucha", "slime for kids", "bath salts",
     "paper airplanes", "a kite", "sourdough", "ice cream", "a bird feeder", "lip balm", "jam",
     "a piñata", "a terrarium", "pancakes", "a costume", "chocolate truffles", "a bath bomb",
     "a baking soda volcano", "hot sauce", "a smoothie", "a friendship bracelet");
LIST(poly_c, "a birdhouse", "a bookshelf", "a raised garden bed", "a website", "a snowman", "a treehouse",
     "a gaming PC", "a chicken coop", "a dog house", "a LEGO castle", "a compost bin", "a robot kit");

static const domain domains[] = {
    {cook_t, cook_a, cook_b},   {sport_t, sport_a, sport_b}, {comp_t, comp_a, comp_b},
    {sec_t, sec_a, sec_b},      {code_t, code_a, code_b},    {code_t, code_a, code_b},
    {hist_t, hist_a, hist_b},   {med_t, med_a, med_b},       {fic_t, fic_a, fic_a},
    {home_t, home_a, home_b},   {work_t, work_a, work_b},    {sci_t, sci_a, sci_b},
    {gen_t, gen_a, gen_b},      {gen_t, gen_a, gen_b},       {gen_t, gen_a, gen_b},
    {gen_t, gen_a, gen_b},      {sec2_t, sec2_a, sec2_b},    {sec2_t, sec2_a, sec2_b},
    {def_t, def_a, def_b},      {def_t, def_a, def_b},       {def_t, def_a, def_b},
    {task_t, task_a, gen_b},    {task_t, task_a, gen_b},     {task_t, task_a, gen_b},
    {role_t, role_a, role_b},   {role_t, role_a, role_b},    {chat_t, chat_a, chat_b},
    {ident_t, ident_a, ident_b},         {ident_t, ident_a, ident_b},
    {poly_t, poly_a, poly_b},   {poly_t, poly_a, poly_b},    {poly_t, poly_a, poly_b},
};
#define N_DOMAINS (sizeof domains / sizeof domains[0])

/* extra slot lists used by some templates */
static const char *const *slot_list(const domain *dm, char slot) {
    if (dm->tpl == sec_t && slot == 'c') return sec_c;
    if (dm->tpl == med_t && slot == 'c') return med_c;
    if (dm->tpl == home_t) {
        switch (slot) {
        case 'c': return home_c;
        case 'd': return home_d;
        case 'e': return home_e;
        case 'f': return home_f;
        }
    }
    if (dm->tpl == work_t && slot == 'c') return work_c;
    if (dm->tpl == gen_t) {
        switch (slot) {
        case 'c': return gen_c;
        case 'd': return gen_d;
        case 'e': return gen_e;
        case 'f': return gen_f;
        case 'g': return gen_g;
        case 'h': return gen_h;
        }
    }
    if (dm->tpl == sec2_t && slot == 'c') return sec2_c;
    if (dm->tpl == task_t) {
        switch (slot) {
        case 'n': return task_n;
        case 's': return task_s;
        case 'q': return task_q;
        case 'd': return gen_d;
        case 'r': return task_r;
        case 'e': return task_e;
        }
    }
    if (dm->tpl == role_t) {
        switch (slot) {
        case 'c': return role_c;
        case 'd': return role_d;
        case 'e': return role_e;
        case 'f': return role_f;
        }
    }
    if (dm->tpl == chat_t) {
        switch (slot) {
        case 'c': return chat_c;
        case 'd': return chat_d;
        }
    }
    if (dm->tpl == ident_t) {
        switch (slot) {
        case 'c': return ident_c;
        case 'd': return ident_d;
        }
    }
    if (dm->tpl == poly_t && slot == 'c') return poly_c;
    if (dm->tpl == def_t) {
        switch (slot) {
        case 'c': return def_c;
        case 's': return def_s;
        case 'v': return def_v;
        case 'w': return def_w;
        case 'm': return def_m;
        case 'o': return def_o;
        case 'k': return def_k;
        }
    }
    return slot == 'a' ? dm->a : slot == 'b' ? dm->b : dm->a;
}

LIST(openers, "Quick question: ", "Hi! ", "I'm a beginner. ",
     "Sorry if this is basic, but ", "For a school project: ", "Hey, ", "Can you help? ",
     "I've been wondering: ", "Honest question. ");
LIST(closers, " Thanks!", " Please keep it short.", " Step by step please.",
     " Thanks in advance.", " Explain like I'm five.", " Any tips appreciated.");

static size_t list_len(const char *const *l) {
    size_t n = 0;
    while (l[n]) n++;
    return n;
}

static const char *pick(uint64_t *rng, const char *const *l) {
    return l[wd__rng_below(rng, list_len(l))];
}

static void put(char *buf, size_t cap, size_t *n, const char *s, size_t len) {
    for (size_t i = 0; i < len && *n + 1 < cap; i++) buf[(*n)++] = s[i];
    buf[*n < cap ? *n : cap - 1] = 0;
}

size_t wd__textclf_benign_one(uint64_t *rng, char *buf, size_t cap) {
    if (!cap) return 0;
    size_t n = 0;
    buf[0] = 0;
    const domain *dm = &domains[wd__rng_below(rng, N_DOMAINS)];
    const char *tpl = pick(rng, dm->tpl);
    /* openers and closers carry no signal: the harmful side gets them at
     * the same rate (wd_textclf_augment_harmful) */
    const char *op = wd__rng_below(rng, 8) == 0 ? pick(rng, openers) : "";
    put(buf, cap, &n, op, strlen(op));
    int lower_first = strlen(op) >= 2 && op[strlen(op) - 2] != '.' && op[strlen(op) - 2] != '!' &&
                      op[strlen(op) - 2] != '?' && op[strlen(op) - 2] != ':';
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            const char *f = pick(rng, slot_list(dm, p[1]));
            put(buf, cap, &n, f, strlen(f));
            p += 2;
            continue;
        }
        if (p[0] == '{' && p[1] == 'a' && p[2] == '2' && p[3] == '}') {
            const char *f = pick(rng, sec2_a2);
            put(buf, cap, &n, f, strlen(f));
            p += 3;
            continue;
        }
        char c = *p;
        if (p == tpl && lower_first && c >= 'A' && c <= 'Z' && !(p[1] == ' ' || p[1] == '\''))
            c = (char)(c - 'A' + 'a');
        put(buf, cap, &n, &c, 1);
    }
    const char *cl = wd__rng_below(rng, 8) == 0 ? pick(rng, closers) : "";
    put(buf, cap, &n, cl, strlen(cl));
    return n;
}

wd_status wd_textclf_benign_generate(wd_textclf_dataset *d, size_t n, uint64_t seed) {
    int src = wd_textclf_dataset_source(d, "gen-benign", WD_TEXTCLF_USE_TRAIN, 1);
    if (src < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    uint64_t rng = seed ^ 0xbe9196e9ull;
    char buf[1024];
    /* duplicates are dropped by the dataset, so try a bounded number of times */
    size_t before = d->n, tries = 0;
    while (d->n - before < n && tries < n * 4) {
        size_t len = wd__textclf_benign_one(&rng, buf, sizeof buf);
        wd_status rc = wd_textclf_dataset_add(d, src, buf, len, 0, WD_TEXTCLF_ALL_LABELS);
        if (rc) return rc;
        tries++;
    }
    return WD_OK;
}

/* The openers and closers above appear only in generated benign prompts;
 * left alone, the model would learn "Thanks!" as evidence of innocence and
 * anyone could append it to a harmful request. So a share of the harmful
 * TRAIN examples is copied with a random opener and closer (source
 * "aug-harmful", always in the train split: held-out texts are never
 * augmented). Call after wd_textclf_dataset_split. */
wd_status wd_textclf_augment_harmful(wd_textclf_dataset *d, double frac, uint64_t seed) {
    int src = wd_textclf_dataset_source(d, "aug-harmful", WD_TEXTCLF_USE_TRAIN, 1);
    if (src < 0) return wd__fail(WD_ERR_NOMEM, "out of memory");
    uint64_t rng = seed ^ 0xa06e47ull;
    size_t n0 = d->n;
    char buf[4096];
    for (size_t i = 0; i < n0; i++) {
        const wd__textclf_example *x = &d->ex[i];
        if (x->split != WD_TEXTCLF_SPLIT_TRAIN || !(x->pos & 1) || d->sources[x->source].synthetic)
            continue;
        if (wd__rng_unit(&rng) >= frac) continue;
        uint64_t r = wd__rng_next(&rng);
        const char *op = r & 1 ? pick(&rng, openers) : "", *cl = r & 2 ? pick(&rng, closers) : "";
        if (!op[0] && !cl[0]) op = pick(&rng, openers);
        int len = snprintf(buf, sizeof buf, "%s%s%s", op, x->text, cl);
        if (len < 0 || (size_t)len >= sizeof buf) continue;
        uint32_t pos = x->pos, known = x->known, origin = x->source;
        size_t before = d->n;
        wd_status rc = wd_textclf_dataset_add(d, src, buf, (size_t)len, pos, known);
        if (rc) return rc;
        if (d->n > before) {
            d->ex[d->n - 1].split = WD_TEXTCLF_SPLIT_TRAIN;
            d->ex[d->n - 1].origin = origin; /* left out with its original (LOSO) */
        }
    }
    return WD_OK;
}
