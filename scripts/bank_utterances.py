"""Writes data/intents/bank_zh.jsonl and bank_en.jsonl: the project's own
spoken-style training utterances for the default bank taxonomy, with
deterministic ASR-like variants (fillers, no punctuation, Traditional script).

Run from the repository root: python3 scripts/bank_utterances.py
"""
import json
import random

ZH = {
    "check_balance": [
        "我账上还有钱吗", "帮我看下账户余额",
        "我想查一下余额", "帮我查查卡里还有多少钱", "我账户里还剩多少钱", "查一下我储蓄卡的余额",
        "我卡上还有多少钱啊", "请问我的余额是多少", "我想知道账户余额", "看一下我还有多少钱可以用",
        "工资卡里现在有多少钱", "能帮我查一下可用余额吗", "我的活期账户余额多少", "帮我看看余额够不够还款",
        "卡里钱还剩多少", "余额查询", "我想确认一下账户里有多少钱", "查个余额", "我那张卡里还有钱吗",
        "现在账上有多少", "麻烦查一下我的存款余额", "帮我报一下余额", "我想知道我现在能用多少钱",
        "可用额度和余额分别是多少", "我要查余额", "你帮我看下卡里剩多少",
    ],
    "transaction_history": [
        "我想看一下交易明细", "帮我查一下这个月的流水", "最近的消费记录能查吗", "我要打印银行流水",
        "帮我查查上个月都有哪些交易", "我想看看最近几笔支出", "能不能把交易记录发给我", "查一下近三个月的明细",
        "我想知道钱都花到哪去了", "帮我看看昨天有哪些扣款记录", "账户的收支明细怎么查", "我需要一份对账单",
        "查一下最近的转入转出记录", "上周的消费明细给我看一下", "我要开个流水证明", "帮我查下历史交易",
        "交易明细在哪里看", "我想核对一下最近的账单明细", "把这半年的流水调出来", "查询交易记录",
        "最近一笔进账是什么时候", "帮我看看有哪些消费", "我想查一下收入和支出的记录",
    ],
    "unrecognized_charge": [
        "我卡里莫名其妙被扣了一笔钱", "有一笔消费不是我刷的", "我没买东西怎么扣款了", "账单上有一笔我不认识的交易",
        "我的卡被盗刷了", "昨天有一笔五百块的扣款我不知道是什么", "怎么多扣了我一笔钱", "这笔交易不是我本人操作的",
        "有人用我的卡在网上买东西", "收到短信说消费了两千块但我没用卡", "同一笔消费扣了两次", "我要申请交易争议",
        "有笔境外消费不是我的", "这个扣费我完全不知道", "我怀疑卡被人盗用了", "账户里少了钱不知道去哪了",
        "有个陌生商户扣了我的钱", "我没有授权这笔付款", "帮我查一下这笔不明扣款",
    ],
    "card_lost_stolen": [
        "我的卡落在外面了", "卡被人拿走了", "我的借记卡丢失了", "卡找不着了帮我停用",
        "我的卡丢了", "银行卡找不到了", "我要挂失", "钱包被偷了卡也在里面", "信用卡不见了怎么办",
        "我的卡好像丢在出租车上了", "帮我把卡冻结一下我卡丢了", "卡被偷了要怎么处理", "我要办理挂失补卡",
        "储蓄卡遗失了", "卡掉了能不能先停用", "我包被抢了里面有银行卡", "我想紧急挂失", "借记卡丢了要补办",
        "卡丢了我怕被人用", "我刚发现卡不见了", "手机和卡一起丢了", "帮我办一下口头挂失",
    ],
    "card_declined": [
        "我的卡刷不了", "付款的时候被拒了", "刷卡一直提示失败", "为什么我的卡用不了", "在超市买东西卡被拒绝了",
        "网上支付总是失败", "取钱的时候提示交易失败", "我的信用卡怎么刷不出来", "卡明明有钱为什么支付不了",
        "在国外刷卡被拒", "绑定微信支付失败", "pos机显示交易被拒绝", "卡片是不是被限制了刷不了", "扫码付款一直不成功",
        "ATM取不出钱来", "刚才刷卡提示风控拦截",
    ],
    "transfer_money": [
        "我想转账", "怎么给别人转钱", "帮我转一笔钱到我妈的卡上", "我要汇款到外地", "跨行转账怎么操作",
        "我想往国外汇一笔钱", "手机银行怎么转账", "转账限额是多少", "我要给公司打一笔款", "能不能帮我办理转账",
        "转五千块给我朋友", "我想把钱转到另一个账户", "大额转账要怎么办", "给房东转房租怎么弄", "我要做一笔电汇",
    ],
    "transfer_not_received": [
        "我转的钱对方还没收到", "转账一直没到账", "钱转出去了但是没到", "汇款三天了还没到账", "对方说没收到我的转账",
        "我的钱扣了但对方没收到", "别人给我转账我没收到", "转账显示成功但是没到账", "跨行转账怎么还没到", "工资还没到账",
        "转账怎么还在处理中", "那笔汇款到底到哪了", "我昨天转的钱今天还没到", "退款一直没有到账",
    ],
    "credit_card_bill": [
        "我想查一下信用卡账单", "这个月信用卡要还多少", "信用卡最低还款是多少", "还款日是哪天", "我想还信用卡",
        "信用卡账单怎么还款", "我想办分期还款", "这期账单金额是多少", "信用卡逾期了怎么办", "我想设置自动还款",
        "账单日是几号", "信用卡欠款还剩多少没还", "我还款了为什么还显示欠款", "我想申请账单分期",
    ],
    "credit_limit": [
        "我的卡能用多少额度", "额度能不能再高点", "想申请提高额度", "额度调整怎么办理",
        "我想提高信用卡额度", "怎么提额", "我的信用额度是多少", "能不能临时调高额度", "额度太低了不够用",
        "我想申请永久提额", "为什么我的额度被降了", "信用卡额度怎么调整", "帮我看看能提到多少额度", "临时额度什么时候到期",
        "我想把额度调低一点",
    ],
    "loan_inquiry": [
        "我想借点钱周转一下", "你们有没有信用贷款", "贷款利息怎么算", "我想问问贷款的事", "买房子能贷多少", "创业贷款怎么申请",
        "我想咨询一下贷款", "房贷利率是多少", "我想申请个人消费贷款", "车贷怎么办理", "我能贷多少钱",
        "贷款需要什么材料", "我想提前还房贷", "经营贷怎么申请", "贷款审批要多久", "我的贷款还剩多少没还",
        "想借一笔钱装修", "公积金贷款能在你们这办吗", "贷款月供是多少",
    ],
    "wealth_products": [
        "有什么理财产品推荐吗", "我想买点理财", "现在有什么收益高一点的产品", "基金怎么买", "我有一笔闲钱想投资",
        "理财产品安全吗", "有没有保本的理财", "我想了解一下你们的基金", "理财产品能随时取出来吗", "我买的理财到期了",
        "有没有风险低一点的投资", "大额存单和理财哪个好", "我想赎回理财",
    ],
    "deposit_rates": [
        "现在定期存款利率是多少", "存一年定期利息多少", "大额存单利率多少", "活期利息怎么算", "三年定期利率是多少",
        "存款利率最近有没有调整", "我想存定期哪个期限利息高", "十万块存一年有多少利息", "整存整取的利率",
        "你们银行存款利息高吗",
    ],
    "password_reset": [
        "我忘记密码了", "银行卡密码怎么重置", "密码输错被锁了", "我想修改密码", "手机银行登录密码忘了",
        "交易密码怎么找回", "信用卡查询密码忘了", "密码连续输错三次怎么办", "我想改一下取款密码", "网银密码怎么重设",
        "登录不上去提示密码错误",
    ],
    "account_frozen": [
        "我的账户被冻结了", "为什么我的卡被冻结", "账户被锁定了怎么解冻", "卡被止付了", "我的账户不能用了显示冻结",
        "怎么解除账户冻结", "银行为什么冻结我的账户", "账户被司法冻结了怎么办", "卡突然被锁了用不了", "我的账户被限制交易了",
        "非柜面交易被限制了",
    ],
    "fees_charges": [
        "这笔费用是怎么收的", "为什么要收我钱", "扣了我十块钱的费用是什么", "收费标准是什么", "能不能把手续费退给我", "账户管理费为什么扣",
        "为什么扣我年费", "这个手续费是什么", "跨行取款要手续费吗", "小额账户管理费能免吗", "转账收手续费吗",
        "信用卡年费多少", "你们怎么乱收费", "短信通知费能取消吗", "取现手续费怎么算", "年费能不能减免",
        "这个月扣了一笔服务费是什么", "境外取现收多少费用",
    ],
    "exchange_rate": [
        "美元兑人民币多少", "我要买点美元", "换外汇怎么算", "欧元现在什么价",
        "今天美元汇率多少", "我想换点外币", "人民币换欧元怎么换", "现在日元汇率是多少", "购汇有额度限制吗",
        "港币汇率多少", "我想换一万美元", "外币兑换在哪里办", "结汇怎么操作", "汇率什么时候更新",
    ],
    "open_account": [
        "想新开一个银行账户", "开卡需要本人去网点吗", "我想办个借记卡", "怎么申请开通一个新账户", "我是新客户想开户", "帮我预约开户",
        "我想开个账户", "怎么办一张银行卡", "开户需要带什么证件", "我想办一张信用卡", "能不能在网上开户",
        "给孩子开个账户", "我想开一个二类账户", "外国人能开户吗", "公司开户需要什么材料", "我想再办一张储蓄卡",
        "申请信用卡要什么条件",
    ],
    "close_account": [
        "我想销户", "这张卡我不用了想注销", "怎么注销信用卡", "我要把账户关掉", "销户需要去网点吗",
        "帮我把这个账户注销了", "我想取消这张卡", "不想用你们银行了要销户", "注销账户要多久",
    ],
    "update_contact_info": [
        "我换手机号了要改一下", "我想修改预留手机号", "更新一下我的地址", "怎么修改联系方式", "我搬家了要改地址",
        "邮箱地址要更新", "身份证到期了要更新信息", "我想改一下账单寄送地址", "预留手机号不用了怎么换", "帮我更新个人信息",
    ],
    "complaint": [
        "我要投诉", "你们的服务太差了", "我对处理结果不满意", "我要投诉你们的工作人员", "这件事我要投诉到底",
        "你们网点的态度太差了", "我要向监管部门反映", "我已经投诉过了还没人处理", "我要投诉你们乱扣费",
        "你们这是什么服务", "我对你们很不满意", "我要去银保监会投诉",
    ],
    "speak_to_human": [
        "给我转人工", "我要找你们经理", "让你们领导来跟我说", "我要跟主管通话", "能不能换个人跟我说",
        "我不想跟机器人说话", "叫你们负责人来", "帮我转接一下主管", "我要找真人客服", "你解决不了就找你们领导",
    ],
    "out_of_scope": [
        "好的", "谢谢", "嗯嗯好的", "知道了谢谢你", "行", "没有了", "你好", "喂喂听得到吗", "稍等一下",
        "今天天气怎么样", "附近有什么好吃的", "帮我订一张机票", "现在几点了", "给我讲个笑话", "你是机器人吗",
        "我在开车不方便", "等我一下我找个笔", "对对对", "是的没错", "不是的", "好的明白了", "那就这样吧",
        "明天会下雨吗", "我想点个外卖", "火车票怎么买", "帮我放首歌", "我儿子考试考得不错", "你们几点下班",
        "没事了再见", "可以可以", "请问你贵姓", "我再想想",
    ],
}

EN = {
    "check_balance": [
        "what's my balance", "how much money do i have in my account", "can you tell me my account balance",
        "i wanna check my balance", "how much is left on my debit card", "what's the available balance",
        "could you check how much i have in savings", "um how much is in my checking", "balance please",
        "i need to know how much money i have right now", "whats left in my account",
    ],
    "transaction_history": [
        "show me my recent transactions", "i want to see my transaction history", "can you go through last month's statement",
        "what did i spend money on this week", "list the payments from my account", "i need a statement for the last three months",
        "can you read me the last few transactions", "where did my money go this month", "send me my account statement",
        "what came in and out of my account last week", "i'd like to review my recent activity",
    ],
    "unrecognized_charge": [
        "there's a charge i don't recognize", "i didn't make this payment", "someone used my card without permission",
        "there's a weird charge on my statement", "i was charged twice for the same thing", "i want to dispute a transaction",
        "this purchase isn't mine", "i think my card has been compromised", "there's a payment to a store i've never been to",
        "i got a text about a purchase i didn't make",
    ],
    "card_lost_stolen": [
        "i've misplaced my card", "someone took my card", "my card got lost",
        "i lost my card", "my wallet was stolen", "i can't find my credit card", "i need to report my card stolen",
        "please block my card i lost it", "my card is missing", "i left my card at a restaurant and it's gone",
        "someone stole my purse with my cards", "i need a replacement card because i lost mine",
    ],
    "card_declined": [
        "my card got declined", "my card isn't working", "why was my payment rejected", "the card keeps getting declined at the store",
        "i can't pay with my card online", "the atm won't let me withdraw money", "my card was declined abroad",
        "the terminal says transaction declined",
    ],
    "transfer_money": [
        "i want to make a transfer", "how do i send money to someone", "i need to wire money overseas",
        "transfer five hundred dollars to my son", "can i move money between my accounts", "how do i pay someone with the app",
        "what's the transfer limit", "i'd like to send money to another bank",
    ],
    "transfer_not_received": [
        "my transfer hasn't arrived", "the money i sent never got there", "my landlord didn't receive my payment",
        "i sent money three days ago and it's still not there", "the transfer is still pending", "my salary hasn't come in yet",
        "where is my transfer", "i'm still waiting for a refund to show up",
    ],
    "credit_card_bill": [
        "how much do i owe on my credit card", "when is my credit card payment due", "what's my minimum payment",
        "i want to pay my credit card bill", "can i set up automatic payments for my card", "i missed my credit card payment",
        "what's on my latest credit card statement",
    ],
    "credit_limit": [
        "how much can i spend on my card", "i want more credit on my card", "please increase my card limit",
        "i want to increase my credit limit", "what's my credit limit", "can you raise my limit", "why did my credit limit go down",
        "i need a temporary limit increase", "can i lower my credit limit",
    ],
    "loan_inquiry": [
        "do you offer personal loans", "i need to borrow some money", "what would the monthly payment be on a loan", "can i get a loan for a new car",
        "i'm interested in a personal loan", "what are your mortgage rates", "how much can i borrow", "i want to apply for a car loan",
        "can i pay off my loan early", "what do i need to apply for a loan", "how much is left on my mortgage",
    ],
    "wealth_products": [
        "i want to invest some money", "what investment products do you have", "are your funds safe",
        "i have some savings i want to put somewhere", "can i withdraw from the fund anytime", "what's a low risk investment",
        "tell me about your wealth management products",
    ],
    "deposit_rates": [
        "what's the interest rate on savings", "how much interest for a one year deposit", "what are your cd rates",
        "did the deposit rates change", "what's the best rate for a fixed deposit",
    ],
    "password_reset": [
        "i forgot my password", "i need to reset my pin", "i'm locked out of online banking", "how do i change my password",
        "my pin got blocked after too many tries", "i can't log in to the app",
    ],
    "account_frozen": [
        "my account is frozen", "why is my account blocked", "how do i unfreeze my account", "my account has been locked",
        "i can't use my account it says restricted",
    ],
    "fees_charges": [
        "what is this fee on my account", "why am i being charged", "can you take off that charge fee", "how much do you charge for wire transfers",
        "why was i charged a fee", "what's this service charge", "is there a fee for transfers", "can you waive the annual fee",
        "how much is the atm fee", "why do you charge a monthly fee",
    ],
    "exchange_rate": [
        "how much is a dollar in euros", "what's today's currency rate", "i want to exchange dollars for yen",
        "what's the exchange rate for dollars", "i want to buy some euros", "how much is the yen today",
        "what rate do you give for currency exchange", "can i exchange money at the branch",
    ],
    "open_account": [
        "i'm new and want to open an account", "how can i get a bank account with you", "i'd like a new checking account", "sign me up for an account",
        "i want to open an account", "how do i open a savings account", "what documents do i need to open an account",
        "can i open an account online", "i'd like to apply for a credit card", "i want to open an account for my daughter",
    ],
    "close_account": [
        "i want to close my account", "please cancel my credit card", "how do i close my savings account",
        "i don't want this account anymore",
    ],
    "update_contact_info": [
        "i need to change my address", "i have a new phone number", "can you update my email", "i moved and need to update my details",
        "change the phone number on my account",
    ],
    "complaint": [
        "i want to make a complaint", "this service is terrible", "i'm not happy with how this was handled",
        "i want to complain about your staff", "i'm going to report you to the regulator", "this is unacceptable i want to file a complaint",
    ],
    "speak_to_human": [
        "let me talk to a real person", "i want to speak to your supervisor", "get me a manager", "can i talk to someone else",
        "transfer me to a human", "put your supervisor on the phone",
    ],
    "out_of_scope": [
        "okay", "thanks", "thank you so much", "yes", "no", "hold on a second", "hello can you hear me", "sure",
        "that's right", "okay got it", "what's the weather like", "book me a flight", "tell me a joke", "what time is it",
        "i'm driving right now", "never mind", "that's all", "goodbye", "yeah yeah", "let me think about it",
    ],
}

FILLERS_ZH = ["嗯", "呃", "那个", "就是", "喂"]
FILLERS_EN = ["um", "uh", "like", "so", "yeah"]


def traditional_table():
    # Reverse of the normalizer's table, read from the Rust source.
    src = open("src/pipeline/normalize.rs", encoding="utf-8").read()
    pairs = src.split('TRADITIONAL_SIMPLIFIED: &str = "')[1].split('"')[0]
    rev = {}
    for i in range(0, len(pairs), 2):
        rev.setdefault(pairs[i + 1], pairs[i])
    return rev


def variants(text, lang, rng, trad):
    out = {text}
    if lang == "zh":
        out.add(rng.choice(FILLERS_ZH) + text)
        out.add(text + rng.choice(["", "啊", "吧", "呢", "。", "？"]))
        out.add("".join(trad.get(c, c) for c in text))
    else:
        words = text.split()
        k = rng.randrange(len(words) + 1)
        out.add(" ".join(words[:k] + [rng.choice(FILLERS_EN)] + words[k:]))
        out.add(text.capitalize() + rng.choice([".", "?", ""]))
    return sorted(out)


def main():
    rng = random.Random(20261130)
    trad = traditional_table()
    for lang, table in (("zh", ZH), ("en", EN)):
        with open(f"data/intents/bank_{lang}.jsonl", "w", encoding="utf-8") as f:
            for intent, texts in table.items():
                for text in texts:
                    for v in variants(text, lang, rng, trad):
                        f.write(json.dumps({"text": v, "intent": intent, "lang": lang}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
