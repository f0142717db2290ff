//! Typical customer turns (Mandarin, Traditional, English) shared by the
//! pipeline benchmark and the instruction-count example.

/// Five customer turns of 20–100 characters.
pub const TURNS: &[&str] = &[
    "喂，我的卡好像丢了，尾号1234，我好担心被人盗刷",
    "我想看一下我卡里的余额，还有这个月的明细",
    "there's a charge on my card I don't recognize, $1,200 on the card ending in 4821, and this is ridiculous",
    "So what happens now?",
    "我要投訴，你們的年費莫名其妙又扣了，太過分了",
];
