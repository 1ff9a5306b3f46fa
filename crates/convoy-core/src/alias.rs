//! Freight aliases: friendly `adjective-animal` names, unique within a project.

const ADJECTIVES: &[&str] = &[
    "amber",
    "ancient",
    "bold",
    "brave",
    "breezy",
    "bright",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "curious",
    "daring",
    "dapper",
    "eager",
    "early",
    "fancy",
    "fearless",
    "fluffy",
    "gentle",
    "giddy",
    "golden",
    "grand",
    "happy",
    "hasty",
    "honest",
    "humble",
    "jolly",
    "keen",
    "kind",
    "lively",
    "lucky",
    "mellow",
    "merry",
    "mighty",
    "modest",
    "nimble",
    "noble",
    "patient",
    "peppy",
    "plucky",
    "polite",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "rustic",
    "shiny",
    "silent",
    "silver",
    "smooth",
    "snappy",
    "solid",
    "spry",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "tranquil",
    "vivid",
    "wandering",
    "wise",
    "witty",
    "zealous",
    "zesty",
];

const ANIMALS: &[&str] = &[
    "albatross",
    "alpaca",
    "badger",
    "beaver",
    "bison",
    "bobcat",
    "camel",
    "caribou",
    "cheetah",
    "condor",
    "coyote",
    "crane",
    "dingo",
    "dolphin",
    "eagle",
    "egret",
    "falcon",
    "ferret",
    "finch",
    "gazelle",
    "gecko",
    "gibbon",
    "heron",
    "ibex",
    "iguana",
    "jackal",
    "jaguar",
    "kestrel",
    "koala",
    "lemur",
    "leopard",
    "llama",
    "lynx",
    "marmot",
    "meerkat",
    "moose",
    "narwhal",
    "ocelot",
    "okapi",
    "orca",
    "otter",
    "panda",
    "pelican",
    "penguin",
    "puffin",
    "quokka",
    "rabbit",
    "raven",
    "salmon",
    "seal",
    "sparrow",
    "stork",
    "tapir",
    "tiger",
    "toucan",
    "turtle",
    "urchin",
    "vulture",
    "walrus",
    "weasel",
    "wombat",
    "yak",
    "zebra",
    "wren",
];

/// Picks an alias that `taken` does not report as used. `random` supplies randomness so that
/// this stays a pure function under test.
pub fn generate_alias(mut random: impl FnMut() -> u64, taken: impl Fn(&str) -> bool) -> String {
    let pick = |r: u64| {
        let adjective = ADJECTIVES[(r % ADJECTIVES.len() as u64) as usize];
        let animal = ANIMALS[((r >> 32) % ANIMALS.len() as u64) as usize];
        format!("{adjective}-{animal}")
    };
    for _ in 0..64 {
        let alias = pick(random());
        if !taken(&alias) {
            return alias;
        }
    }
    // The word space is crowded: a numeric suffix keeps the name friendly and unique.
    loop {
        let r = random();
        let alias = format!("{}-{}", pick(r), r % 10_000);
        if !taken(&alias) {
            return alias;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_have_two_words_and_avoid_taken_ones() {
        let mut n = 0u64;
        let mut next = || {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            n
        };
        let first = generate_alias(&mut next, |_| false);
        let (adjective, animal) = first.split_once('-').unwrap();
        assert!(ADJECTIVES.contains(&adjective) && ANIMALS.contains(&animal));
        let second = generate_alias(&mut next, |a| a == first);
        assert_ne!(first, second);
        let crowded = generate_alias(&mut next, |a| a.matches('-').count() == 1);
        assert_eq!(crowded.matches('-').count(), 2);
    }
}
