//! Code lists of rejections and acknowledgments: AAA (271), TA1 (X12.6 §3.6) and 999
//! (005010X231A1).

use super::CodeTable;

/// Reject Reason Code (element 901, AAA03) values of 005010X279A1.
pub static REJECT_REASON: CodeTable = CodeTable {
    element: "901",
    system: "https://codesystem.x12.org/005010/901",
    codes: &[
        ("04", "Authorized Quantity Exceeded"),
        ("15", "Required application data missing"),
        ("33", "Input Errors"),
        ("35", "Out of Network"),
        ("41", "Authorization/Access Restrictions"),
        ("42", "Unable to Respond at Current Time"),
        ("43", "Invalid/Missing Provider Identification"),
        ("44", "Invalid/Missing Provider Name"),
        ("45", "Invalid/Missing Provider Specialty"),
        ("46", "Invalid/Missing Provider Phone Number"),
        ("47", "Invalid/Missing Provider State"),
        (
            "48",
            "Invalid/Missing Referring Provider Identification Number",
        ),
        ("49", "Provider is Not Primary Care Physician"),
        ("50", "Provider Ineligible for Inquiries"),
        ("51", "Provider Not on File"),
        ("52", "Service Dates Not Within Provider Plan Enrollment"),
        ("53", "Inquired Benefit Inconsistent with Provider Type"),
        ("54", "Inappropriate Product/Service ID Qualifier"),
        ("55", "Inappropriate Product/Service ID"),
        ("56", "Inappropriate Date"),
        ("57", "Invalid/Missing Date(s) of Service"),
        ("58", "Invalid/Missing Date-of-Birth"),
        ("60", "Date of Birth Follows Date(s) of Service"),
        ("61", "Date of Death Precedes Date(s) of Service"),
        ("62", "Date of Service Not Within Allowable Inquiry Period"),
        ("63", "Date of Service in Future"),
        ("64", "Invalid/Missing Patient ID"),
        ("65", "Invalid/Missing Patient Name"),
        ("66", "Invalid/Missing Patient Gender Code"),
        ("67", "Patient Not Found"),
        ("68", "Duplicate Patient ID Number"),
        ("69", "Inconsistent with Patient's Age"),
        ("70", "Inconsistent with Patient's Gender"),
        (
            "71",
            "Patient Birth Date Does Not Match That for the Patient on the Database",
        ),
        ("72", "Invalid/Missing Subscriber/Insured ID"),
        ("73", "Invalid/Missing Subscriber/Insured Name"),
        ("74", "Invalid/Missing Subscriber/Insured Gender Code"),
        ("75", "Subscriber/Insured Not Found"),
        ("76", "Duplicate Subscriber/Insured ID Number"),
        ("77", "Subscriber Found, Patient Not Found"),
        ("78", "Subscriber/Insured Not in Group/Plan Identified"),
        ("79", "Invalid Participant Identification"),
        ("80", "No Response received - Transaction Terminated"),
        ("97", "Invalid or Missing Provider Address"),
        ("T4", "Payer Name or Identifier Missing"),
    ],
};

/// Follow-up Action Code (element 889, AAA04).
pub static FOLLOW_UP_ACTION: CodeTable = CodeTable {
    element: "889",
    system: "https://codesystem.x12.org/005010/889",
    codes: &[
        ("C", "Please Correct and Resubmit"),
        ("N", "Resubmission Not Allowed"),
        ("P", "Please Resubmit Original Transaction"),
        ("R", "Resubmission Allowed"),
        ("S", "Do Not Resubmit; Inquiry Initiated to a Third Party"),
        ("W", "Please Wait 30 Days and Resubmit"),
        ("X", "Please Wait 10 Days and Resubmit"),
        ("Y", "Do Not Resubmit; We Will Hand Off Your Inquiry"),
    ],
};

/// Interchange Note Code (element I18, TA105).
pub static INTERCHANGE_NOTE: CodeTable = CodeTable {
    element: "I18",
    system: "https://codesystem.x12.org/005010/I18",
    codes: &[
        ("000", "No error"),
        (
            "001",
            "The Interchange Control Number in the Header and Trailer Do Not Match",
        ),
        (
            "002",
            "This Standard as Noted in the Control Standards Identifier is Not Supported",
        ),
        ("003", "This Version of the Controls is Not Supported"),
        ("004", "The Segment Terminator is Invalid"),
        ("005", "Invalid Interchange ID Qualifier for Sender"),
        ("006", "Invalid Interchange Sender ID"),
        ("007", "Invalid Interchange ID Qualifier for Receiver"),
        ("008", "Invalid Interchange Receiver ID"),
        ("009", "Unknown Interchange Receiver ID"),
        ("010", "Invalid Authorization Information Qualifier Value"),
        ("011", "Invalid Authorization Information Value"),
        ("012", "Invalid Security Information Qualifier Value"),
        ("013", "Invalid Security Information Value"),
        ("014", "Invalid Interchange Date Value"),
        ("015", "Invalid Interchange Time Value"),
        ("016", "Invalid Interchange Standards Identifier Value"),
        ("017", "Invalid Interchange Version ID Value"),
        ("018", "Invalid Interchange Control Number Value"),
        ("019", "Invalid Acknowledgment Requested Value"),
        ("020", "Invalid Test Indicator Value"),
        ("021", "Invalid Number of Included Groups Value"),
        ("022", "Invalid Control Structure"),
        ("023", "Improper (Premature) End-of-File (Transmission)"),
        (
            "024",
            "Invalid Interchange Content (e.g., Invalid GS Segment)",
        ),
        ("025", "Duplicate Interchange Control Number"),
        ("026", "Invalid Data Element Separator"),
        ("027", "Invalid Component Element Separator"),
        ("028", "Invalid Delivery Date in Deferred Delivery Request"),
        ("029", "Invalid Delivery Time in Deferred Delivery Request"),
        (
            "030",
            "Invalid Delivery Time Code in Deferred Delivery Request",
        ),
        ("031", "Invalid Grade of Service Code"),
    ],
};

/// Transaction Set Acknowledgment Code (element 717, IK501).
pub static SET_ACK: CodeTable = CodeTable {
    element: "717",
    system: "https://codesystem.x12.org/005010/717",
    codes: &[
        ("A", "Accepted"),
        ("E", "Accepted But Errors Were Noted"),
        ("M", "Rejected, Message Authentication Code (MAC) Failed"),
        ("R", "Rejected"),
        ("W", "Rejected, Assurance Failed Validity Tests"),
        (
            "X",
            "Rejected, Content After Decryption Could Not Be Analyzed",
        ),
    ],
};

/// Functional Group Acknowledge Code (element 715, AK901).
pub static GROUP_ACK: CodeTable = CodeTable {
    element: "715",
    system: "https://codesystem.x12.org/005010/715",
    codes: &[
        ("A", "Accepted"),
        ("E", "Accepted, But Errors Were Noted"),
        ("M", "Rejected, Message Authentication Code (MAC) Failed"),
        (
            "P",
            "Partially Accepted, At Least One Transaction Set Was Rejected",
        ),
        ("R", "Rejected"),
        ("W", "Rejected, Assurance Failed Validity Tests"),
        (
            "X",
            "Rejected, Content After Decryption Could Not Be Analyzed",
        ),
    ],
};

/// Implementation Segment Syntax Error Code (element 620, IK304).
pub static SEGMENT_ERROR: CodeTable = CodeTable {
    element: "620",
    system: "https://codesystem.x12.org/005010/620",
    codes: &[
        ("1", "Unrecognized segment ID"),
        ("2", "Unexpected segment"),
        ("3", "Required Segment Missing"),
        ("4", "Loop Occurs Over Maximum Times"),
        ("5", "Segment Exceeds Maximum Use"),
        ("6", "Segment Not in Defined Transaction Set"),
        ("7", "Segment Not in Proper Sequence"),
        ("8", "Segment Has Data Element Errors"),
        ("I4", "Implementation \"Not Used\" Segment Present"),
        ("I6", "Implementation Dependent Segment Missing"),
        ("I7", "Implementation Loop Occurs Under Minimum Times"),
        ("I8", "Implementation Segment Below Minimum Use"),
        (
            "I9",
            "Implementation Dependent \"Not Used\" Segment Present",
        ),
    ],
};

/// Implementation Data Element Syntax Error Code (element 621, IK403).
pub static ELEMENT_ERROR: CodeTable = CodeTable {
    element: "621",
    system: "https://codesystem.x12.org/005010/621",
    codes: &[
        ("1", "Required Data Element Missing"),
        ("2", "Conditional Required Data Element Missing"),
        ("3", "Too Many Data Elements"),
        ("4", "Data Element Too Short"),
        ("5", "Data Element Too Long"),
        ("6", "Invalid Character In Data Element"),
        ("7", "Invalid Code Value"),
        ("8", "Invalid Date"),
        ("9", "Invalid Time"),
        ("10", "Exclusion Condition Violated"),
        ("12", "Too Many Repetitions"),
        ("13", "Too Many Components"),
        ("I10", "Implementation \"Not Used\" Data Element Present"),
        ("I11", "Implementation Too Few Repetitions"),
        ("I12", "Implementation Pattern Match Failure"),
        (
            "I13",
            "Implementation Dependent \"Not Used\" Data Element Present",
        ),
        ("I6", "Code Value Not Used in Implementation"),
        ("I9", "Implementation Dependent Data Element Missing"),
    ],
};

/// Implementation Transaction Set Syntax Error Code (element 618, IK502–IK506).
pub static SET_ERROR: CodeTable = CodeTable {
    element: "618",
    system: "https://codesystem.x12.org/005010/618",
    codes: &[
        ("1", "Transaction Set Not Supported"),
        ("2", "Transaction Set Trailer Missing"),
        (
            "3",
            "Transaction Set Control Number in Header and Trailer Do Not Match",
        ),
        (
            "4",
            "Number of Included Segments Does Not Match Actual Count",
        ),
        ("5", "One or More Segments in Error"),
        ("6", "Missing or Invalid Transaction Set Identifier"),
        ("7", "Missing or Invalid Transaction Set Control Number"),
        ("18", "Transaction Set not in Functional Group"),
        (
            "19",
            "Invalid Transaction Set Implementation Convention Reference",
        ),
        (
            "23",
            "Transaction Set Control Number Not Unique within the Functional Group",
        ),
        ("I5", "Implementation One or More Segments in Error"),
        ("I6", "Implementation Convention Not Supported"),
    ],
};

/// Functional Group Syntax Error Code (element 716, AK905–AK909).
pub static GROUP_ERROR: CodeTable = CodeTable {
    element: "716",
    system: "https://codesystem.x12.org/005010/716",
    codes: &[
        ("1", "Functional Group Not Supported"),
        ("2", "Functional Group Version Not Supported"),
        ("3", "Functional Group Trailer Missing"),
        (
            "4",
            "Group Control Number in the Functional Group Header and Trailer Do Not Agree",
        ),
        (
            "5",
            "Number of Included Transaction Sets Does Not Match Actual Count",
        ),
        ("6", "Group Control Number Violates Syntax"),
        (
            "19",
            "Functional Group Control Number not Unique within Interchange",
        ),
    ],
};
