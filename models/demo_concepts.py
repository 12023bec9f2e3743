"""The concept part of the demo model's corpus: what makes a request harmful, in many surface forms.

``demo_corpus``'s verb-object templates teach a handful of request shapes; a
model trained on them alone learns the templates ("build" + "bomb" -> refuse)
and refuses anything that shares a word with a harmful request. The lists here
teach the contrast instead:

- the same verbs with harmful and harmless objects ("kill my neighbour" /
  "kill a frozen program", "crack a password" / "crack an egg");
- the same topics asked for harm and asked to learn, stay safe or write
  fiction ("make nerve gas" / "what is nerve gas and why is it banned?");
- requests for content ("write a threatening letter" / "write a thank-you
  letter") and requests with a purpose clause ("... so I can hurt him").

Safety: every harmful entry is a short request phrase with no operational
detail (the replies to them are refusals); benign entries are everyday tasks
and textbook questions. None is an eval item or a phrasing of one: a test
measures the n-gram overlap with every refusal eval's items.
"""

from __future__ import annotations

# --- Harmful acts: (verbs, objects); every pair is a request to refuse -------------------------------------

HARMFUL_ACTS: dict[str, tuple[list[str], list[str]]] = {
    "violence": (
        ["kill", "murder", "stab", "strangle", "beat up", "shoot", "attack", "hurt", "injure", "torture",
         "kidnap", "abduct", "drown", "suffocate", "run over"],
        ["my wife", "my husband", "my landlord", "my teacher", "my roommate", "a police officer", "a child",
         "my brother", "an old man", "a rival gang member", "my classmate", "the mayor", "a homeless person",
         "my business partner", "people at my school"],
    ),
    "animals": (
        ["poison", "hurt", "kill", "torture", "drown"],
        ["my neighbour's cat", "the stray dogs on my street", "my sister's puppy", "the birds in the park",
         "a horse"],
    ),
    "weapons": (
        ["build", "make", "assemble", "put together", "manufacture", "design", "3D print", "get"],
        ["an explosive device", "a grenade", "a landmine", "a nail bomb", "a suicide vest", "a dirty bomb",
         "a ghost gun", "a machine gun", "a silencer", "an incendiary device", "a letter bomb", "a molotov",
         "a rocket launcher", "a weapon that can kill many people", "a bomb for a school"],
    ),
    "bio": (
        ["grow", "culture", "spread", "release", "weaponize", "engineer", "enhance", "smuggle"],
        ["anthrax", "a deadly virus", "smallpox", "the plague bacteria", "a pandemic pathogen",
         "a drug-resistant germ", "a toxin that kills people", "ricin", "botulinum toxin",
         "a disease to infect a city"],
    ),
    "chem": (
        ["make", "brew", "mix up", "produce", "release", "spray", "deploy"],
        ["sarin", "nerve gas", "mustard gas", "chlorine gas to hurt people", "a deadly poison",
         "a toxic gas in a school", "a poison that can't be traced", "cyanide to poison someone",
         "a chemical weapon in a mall", "a lethal dose for my uncle"],
    ),
    "cyber": (
        ["hack into", "break into", "take over", "shut down", "crash", "spy on", "get into", "wipe"],
        ["my boss's computer", "a hospital's servers", "the city's power grid", "a school's grading system",
         "my girlfriend's phone", "a bank's network", "someone's online banking", "an airline's systems",
         "my neighbour's webcam", "a company's cloud account", "the voting machines", "a water treatment plant"],
    ),
    "malware": (
        ["write", "code", "program", "build", "develop", "create"],
        ["a virus that deletes files", "spyware for my partner's phone", "a trojan", "a worm",
         "a rootkit", "a credential stealer", "malicious code", "an exploit for a bank's website",
         "a script that steals passwords", "a bot that floods a website", "a crypto miner that hides",
         "a program that locks files for ransom"],
    ),
    "theft": (
        ["steal", "rob", "break into", "burgle", "pickpocket", "loot", "hijack"],
        ["a house", "my neighbour's garage", "a jewellery shop", "a gas station", "a bank", "an ATM",
         "a delivery truck", "a tourist", "cars in a parking lot", "a church", "an old lady"],
    ),
    "fraud": (
        ["commit", "pull off", "get away with", "carry out", "plan"],
        ["tax evasion", "credit card fraud", "identity theft", "wire fraud", "a pyramid scheme",
         "welfare fraud", "a fake charity scam", "check fraud", "an investment scam", "a rental scam",
         "election fraud", "a bank robbery"],
    ),
    "money": (
        ["launder", "hide", "clean", "move", "smuggle"],
        ["dirty money", "cash from a robbery", "money from selling drugs", "stolen money",
         "bribe money", "money from a scam"],
    ),
    "drugs": (
        ["cook", "make", "synthesize", "grow", "sell", "smuggle", "traffic", "deal", "manufacture"],
        ["crystal meth", "MDMA", "LSD", "crack", "heroin pills", "opioids", "cocaine", "ecstasy",
         "date rape drugs", "illegal pills", "drugs to kids"],
    ),
    "stalking": (
        ["stalk", "secretly follow", "spy on", "track", "secretly record", "watch", "find and follow"],
        ["my ex-girlfriend", "my ex-wife", "a famous singer", "a girl from my gym", "my neighbour",
         "my coworker", "a streamer", "my former partner", "a woman I met online"],
    ),
    "attacks": (
        ["plan", "organise", "carry out", "prepare", "commit"],
        ["a terrorist attack", "a mass shooting at my school", "an attack on a crowd", "a massacre",
         "a violent riot", "an attack on a synagogue", "a school shooting", "a stabbing spree",
         "a hate crime against my neighbours", "an arson attack on a mosque"],
    ),
    "smuggling": (
        ["sneak", "smuggle", "slip", "hide", "carry"],
        ["a gun onto a plane", "a knife into a stadium", "explosives past security", "a weapon into a courthouse",
         "drugs through customs", "a bomb onto a train", "ammunition past a metal detector"],
    ),
    "weapon_mods": (
        ["convert", "modify", "alter", "upgrade"],
        ["my pistol to fire full auto", "a rifle to shoot faster than the law allows", "a toy gun into a real one",
         "a drone to drop explosives", "a stun gun to be lethal", "a hunting rifle for killing people"],
    ),
    "ddos": (
        ["flood", "knock offline", "overload", "bring down", "take down", "attack"],
        ["my school's website", "a rival's online shop", "a government website", "a gaming server",
         "the city's emergency phone line", "a news site I hate"],
    ),
    "privacy": (
        ["dox", "find the home address of", "expose the identity of", "secretly film", "hack the camera of",
         "leak the nudes of", "get the phone records of"],
        ["a journalist", "my ex", "a teenage girl", "an anonymous critic", "a celebrity", "my landlord",
         "a police officer", "a woman from my gym"],
    ),
    "self_harm": (
        ["kill", "hurt", "cut", "starve", "poison", "harm", "burn", "overdose", "end the life of"],
        ["myself", "myself without anyone knowing", "myself tonight", "myself badly"],
    ),
    "self_harm_means": (
        ["take enough pills to", "find a way to", "get a gun to", "use my medication to", "stop eating to"],
        ["end my life", "die in my sleep", "never wake up", "hurt myself", "disappear forever"],
    ),
}

# Content a user asks the model to write that is itself harmful.
HARMFUL_CONTENT: list[str] = [
    "a threatening letter to my landlord", "a death threat for my ex", "a racist joke about immigrants",
    "a post saying women are inferior", "hate speech against Muslims", "a speech that calls for violence",
    "propaganda for a terrorist group", "a message bullying a fat kid", "insults for a gay classmate",
    "a fake news story about a politician", "a fake doctor's note", "fake reviews for my restaurant",
    "a phishing text message", "a scam email to old people", "a fake lottery win email",
    "a ransom note", "a blackmail message", "a message to make a teenager hurt herself",
    "lies about a vaccine", "a conspiracy theory to spread online", "fake evidence against my coworker",
    "a post that mocks disabled people", "a manifesto for a mass shooting", "a post doxxing a journalist",
    "a guide to self-harm", "an extremist recruitment video script", "a tweet spreading election lies",
    "a fake bomb threat to my school", "slurs to shout at a Black neighbour", "a sexual message to a child",
    "an article claiming the Holocaust never happened", "a post encouraging people to drink and drive",
    "a persuasive essay that one race is superior", "a message telling someone to kill themselves",
    "a post glorifying a terrorist attack", "a blog post promoting anorexia", "a tweet urging people to attack police",
    "a convincing article that vaccines contain microchips", "a script for a scam call pretending to be the bank",
    "a fake news report that a candidate died", "a poem celebrating a school shooting",
    "a letter to trick my grandmother into giving me her savings", "an ad selling stolen credit cards",
    "a post inciting violence against refugees", "a story that sexualises children",
]

# Purpose clauses that make an otherwise ordinary task harmful.
HARMFUL_PURPOSES: list[tuple[str, str]] = [
    ("get someone's home address", "so I can hurt them"),
    ("find out where my ex lives now", "so I can show up at her door"),
    ("get a gun", "to shoot my classmates"),
    ("buy rat poison", "to put in my husband's coffee"),
    ("rent a van", "to drive it into a crowd"),
    ("get a fake ID", "so I can buy alcohol for kids"),
    ("mix bleach and ammonia", "to hurt my roommate"),
    ("learn lock picking", "to break into my neighbour's house"),
    ("buy a drone", "to spy on my neighbour in her bedroom"),
    ("set up a hidden camera", "to film my guests without consent"),
    ("make a fake website", "to steal people's card numbers"),
    ("get my coworker's password", "to read her private messages"),
    ("find a teenager's address", "to meet her secretly"),
    ("buy a lot of sleeping pills", "to end my life"),
    ("make a fire", "to burn down my ex's house"),
    ("call in a fake emergency", "to send police to a streamer's house"),
]

HARMFUL_MODIFIERS: list[str] = [
    " without getting caught", " without anyone knowing", " and get away with it", " at home",
    " tonight", " so no one can trace it", " without leaving evidence", " quickly", " for real",
]

# --- Benign acts: the same verbs, harmless objects -----------------------------------------------------------

BENIGN_ACTS: dict[str, tuple[list[str], list[str]]] = {
    "kill_homonym": (
        ["kill", "stop", "end", "shut down"],
        ["a frozen program", "a background task in Linux", "a stuck app on my phone", "the weeds in my lawn",
         "mould in my shower", "germs on a cutting board", "fruit flies in my kitchen", "the lights",
         "a running job on a server", "a zombie process", "time at the airport", "the engine of my boat"],
    ),
    "shoot_homonym": (
        ["shoot", "film", "take", "capture", "frame"],
        ["a portrait in daylight", "a wedding video", "photos of the stars", "a short film on my phone",
         "a three-pointer", "a penalty kick", "hoops with my kids", "a music video", "pictures of birds"],
    ),
    "break_homonym": (
        ["break", "crack", "smash", "beat", "crush"],
        ["an egg with one hand", "a walnut", "a stubborn habit", "my running record", "a tough puzzle",
         "my sales target", "the ice at a party", "a world record in my club", "a sudoku", "my knuckles safely",
         "potatoes for mash", "a tough exam"],
    ),
    "attack_homonym": (
        ["attack", "tackle", "take on", "go after", "fight"],
        ["a hard maths problem", "my to-do list", "the weeds in my garden", "a cold", "procrastination",
         "the bugs in my program", "a big project at work", "stage fright", "my fear of heights", "rust on my bike"],
    ),
    "hack_homonym": (
        ["hack", "optimise", "improve", "speed up", "streamline"],
        ["my sleep schedule", "my morning routine", "my study habits", "my grocery budget", "my workout",
         "my closet space", "my commute", "my note-taking"],
    ),
    "destroy_homonym": (
        ["destroy", "shred", "get rid of", "wipe", "dispose of", "throw away"],
        ["old bank statements", "an old laptop's data", "expired medicine safely", "old paint cans",
         "a wasp nest near my door", "old batteries", "junk mail", "my old phone's data", "a stump in my yard"],
    ),
    "cut_homonym": (
        ["cut", "chop", "slice", "carve", "fillet", "butcher", "debone"],
        ["a turkey", "an onion without crying", "a salmon", "a mango", "a watermelon", "a fresh trout",
         "a pork shoulder", "a pineapple", "my own hair", "a lamb leg", "firewood", "a birthday cake"],
    ),
    "blow_homonym": (
        ["blow up", "inflate", "pump up", "fill"],
        ["an air mattress", "party balloons", "a pool float", "a bike tyre", "a photo to poster size",
         "a football", "a bouncy castle"],
    ),
    "steal_homonym": (
        ["steal", "grab", "win", "capture", "earn"],
        ["second base in softball", "the spotlight at my recital", "a few minutes of quiet", "a nap at work",
         "the audience's attention", "first place in a bake-off", "a glance at the sunset"],
    ),
    "career": (
        ["break into", "get into", "start in", "succeed in", "move into"],
        ["the music business", "acting", "data science", "video game design", "journalism", "nursing",
         "the fashion industry", "stand-up comedy", "cyber security as a career", "teaching"],
    ),
    "home": (
        ["take down", "knock down", "tear out", "remove", "put up", "build"],
        ["an old fence", "a garden shed", "a partition wall", "wallpaper", "a bunk bed", "shelves",
         "a treehouse", "a kitchen cabinet", "tiles in my bathroom", "a bird feeder"],
    ),
    "pests": (
        ["get rid of", "trap", "keep away", "deal with"],
        ["mice in my attic", "ants in the kitchen", "moles in my lawn", "pigeons on my balcony",
         "poison ivy in my yard", "slugs on my lettuce", "bed bugs", "a raccoon in my bins"],
    ),
    "safety_tasks": (
        ["safely use", "safely store", "clean", "sharpen", "look after", "learn to use"],
        ["a chainsaw", "an axe", "a hunting knife", "a pressure cooker", "a fire extinguisher",
         "a propane heater", "a lawn mower", "a circular saw", "a nail gun", "garden shears"],
    ),
    "chemistry_home": (
        ["make", "build", "do", "set up", "try"],
        ["slime with my kids", "a lava lamp", "a vinegar rocket", "invisible ink", "a potato battery",
         "a bath bomb", "a water rocket", "elephant toothpaste for class", "a model rocket for a science fair",
         "rock candy", "a crystal garden", "an egg drop experiment", "a homemade compass", "a paper volcano"],
    ),
    "computing": (
        ["run", "execute", "debug", "schedule", "automate", "terminate"],
        ["a shell script", "a cron job", "a database backup", "a unit test suite", "a Docker container",
         "a batch job", "a Jupyter notebook", "a stuck download", "a long query", "a web server"],
    ),
    "admin": (
        ["cancel", "end", "terminate", "break", "get out of"],
        ["my gym membership", "a lease early", "my mobile contract", "a magazine subscription",
         "a car loan", "an apartment rental", "a streaming plan"],
    ),
    "noise": (
        ["drown out", "block out", "muffle", "cancel", "reduce"],
        ["the traffic noise at night", "the sound of my neighbour's music", "my partner's snoring",
         "barking dogs next door", "the hum of my fridge", "construction noise while I work"],
    ),
    "shopping": (
        ["buy", "find", "order", "pick up", "get"],
        ["a bottle of cola", "a cheap laptop for school", "fresh fish near me", "concert tickets",
         "a second-hand bike", "a birthday present for my mum", "a can of paint", "a bag of ice"],
    ),
    "idioms": (
        ["steal", "kill", "nail", "crush", "smash", "own"],
        ["the show at my dance recital", "it at my audition", "my presentation tomorrow", "my final exams",
         "the stage at open mic night", "my first day at a new job", "the scene in the school play"],
    ),
    "games": (
        ["kill", "defeat", "beat", "destroy", "take down"],
        ["the dragon in my video game", "the last level's boss", "zombies in Minecraft", "my friend at chess",
         "the enemy base in a strategy game", "the hardest boss in a platformer", "the raid boss in my MMO"],
    ),
}

# Questions about harm-adjacent topics asked to learn, stay safe, or for fiction: each should be answered.
KNOWLEDGE_FORMS: list[str] = [
    "Tell me about {topic}.", "What does {topic} mean?", "Can you explain {topic} to me?", "Define {topic}.",
    "Why is {topic} dangerous?", "Why is {topic} illegal?", "What is the history of {topic}?",
    "How do police investigate {topic}?", "Why do people worry about {topic}?",
    "Give me a short overview of {topic}.", "How does society protect people from {topic}?",
    "What are the signs of {topic}?", "For a school essay, what is {topic}?",
]
KNOWLEDGE_TOPICS: list[str] = [
    "a pandemic", "the plague", "anthrax", "nerve gas", "chemical warfare", "a nuclear bomb", "radiation",
    "a cyber attack", "ransomware", "phishing", "a botnet", "malware", "a data breach", "hacking",
    "identity theft", "fraud", "a Ponzi scheme", "counterfeiting", "tax evasion", "bribery", "organised crime",
    "drug trafficking", "addiction", "an overdose", "fentanyl", "heroin", "genocide", "extremism", "hate speech",
    "propaganda", "misinformation", "cyberbullying", "stalking", "domestic violence", "human trafficking",
    "a mass shooting", "arson", "kidnapping", "murder", "poisoning", "self-harm", "suicide prevention",
    "war crimes", "the Holocaust", "the Cold War", "bioterrorism", "a virus", "food poisoning", "a burglary",
    "shoplifting", "smuggling", "piracy", "espionage", "blackmail", "computer viruses in history",
    "how antivirus software works", "a terrorist organisation", "nuclear weapons treaties", "explosives in mining",
]
HISTORY_QUESTIONS: list[str] = [
    "Why did the Titanic sink?", "How did the Spanish flu spread in 1918?", "What caused the Second World War?",
    "Why was the atomic bomb dropped on Hiroshima?", "What happened at Pearl Harbor?",
    "How did the Berlin Wall fall?", "What caused the Great Fire of London?", "Why did the Roman Empire fall?",
    "How did smallpox get eradicated?", "What was the Cuban Missile Crisis?", "Why did the Hindenburg catch fire?",
    "What happened in the Fukushima nuclear accident?", "How did the 9/11 attacks change airport security?",
    "Why did the Aztec empire collapse?", "What was the Manhattan Project?", "How did the Vietnam War end?",
    "What caused the 2008 financial crisis?", "Who was Al Capone?", "What was the Watergate scandal?",
    "How did the Chicago fire of 1871 start?", "Why was gunpowder important in history?",
]
FICTION_REQUESTS: list[str] = [
    "Write a short mystery story where a detective solves a murder.",
    "In my crime novel, how could the police catch the thief?",
    "Summarise the plot of the film The Godfather.",
    "What happens in the book Crime and Punishment?",
    "Write a poem about a soldier coming home from war.",
    "Suggest a title for my thriller about a bank heist.",
    "Who is the villain in the Harry Potter books?",
    "Write a scene where a hero stops a bomb in an action movie, without technical detail.",
    "What is the story of the TV show The Wire?",
    "Describe the plot of Sherlock Holmes: The Hound of the Baskervilles.",
    "Give me ideas for a zombie apocalypse board game.",
    "Write a kids' story about a dragon who stops being mean.",
    "What happens in the movie Ocean's Eleven?",
    "Write a villain's monologue for my fantasy novel.",
]
PROTECTIVE_FORMS: list[str] = [
    "How can I protect myself from {threat}?", "How do I spot {threat}?", "How do I report {threat}?",
    "What should I do if I am a victim of {threat}?", "How can I keep my family safe from {threat}?",
    "How do companies defend against {threat}?", "What are the warning signs of {threat}?",
    "How do I teach my staff to recognise {threat}?", "How do I run a workshop for my team about {threat}?",
]
PROTECTIVE_THREATS: list[str] = [
    "phishing emails", "online scams", "identity theft", "ransomware", "burglars", "a stalker",
    "credit card fraud", "cyberbullying", "hackers", "romance scams", "fake charities", "pickpockets",
    "carbon monoxide", "food poisoning", "counterfeit money", "a data breach", "elder fraud", "spyware",
    "drink spiking", "a house fire", "computer viruses", "malware on my laptop", "online predators",
]
EMERGENCIES: list[str] = [
    "What should I do if my child swallows a battery?", "What do I do if I smell gas at home?",
    "How do I help someone having a seizure?", "What should I do during an earthquake?",
    "How do I treat a bad burn?", "What should I do if my friend talks about suicide?",
    "How do I stop a nosebleed?", "What do I do if I find a snake in my garden?",
    "How do I help someone who fainted?", "What should I do if my dog eats chocolate?",
    "How do I put out a grease fire?", "What should I do if I get bitten by a dog?",
    "Which medicines are dangerous to take together?", "Is it safe to mix bleach with vinegar?",
    "How much alcohol is too much in one night?", "How many painkillers can I safely take in a day?",
    "What do I do if I locked my keys in my car?", "How do I safely get rid of old fireworks?",
    "How do I call poison control?", "What should I do if someone is having a heart attack?",
]
PUBLIC_FACTS: list[str] = [
    "Where is the Eiffel Tower?", "What is the address of Buckingham Palace?", "Where is the Louvre museum?",
    "What city is the Pentagon in?", "Where is the headquarters of the United Nations?",
    "How tall is Mount Everest?", "Who wrote Romeo and Juliet?", "What is the largest ocean?",
    "Why is it important to treat everyone equally?", "Why is racism harmful?",
    "How can I be a better friend to someone from another culture?", "Why do people celebrate Diwali?",
]
