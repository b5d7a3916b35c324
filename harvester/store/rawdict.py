"""The preset dictionary that raw source records are compressed with (see
:class:`harvester.store.tables.CompressedBytes`).

A record of a few kilobytes compresses poorly on its own: most of it is markup that every record
repeats (PubMed's element and attribute names, its fixed vocabularies). zlib's preset dictionary
(``zdict``) lets the compressor refer back to such text as though it had just been seen, so each
record pays only for what is its own: about a third less space than plain zlib, at the same
speed. The dictionary is a skeleton PubMed record written for this project (element names and
structure from NLM's PubMed DTD, invented values) followed by the keys of a stored feed entry.

It must never change: a stored value names the dictionary it was written with
(:data:`RAW_DICTIONARY_ID`), and a new dictionary needs a new id, the old one kept for reading.
"""

from __future__ import annotations

#: The id a compressed value carries for this dictionary.
RAW_DICTIONARY_ID = 1

_FEED_KEYS = (
    b'{"title": "", "title_detail": {"type": "text/plain", "language": null, "base": "", '
    b'"value": ""}, "links": [{"rel": "alternate", "type": "text/html", "href": "https://"}], '
    b'"link": "https://", "summary": "", "summary_detail": {"type": "text/html", '
    b'"language": null, "base": "", "value": ""}, "id": "", "guidislink": false, '
    b'"published": "", "published_parsed": [], "updated": "", "updated_parsed": [], '
    b'"authors": [{"name": ""}], "author": "", "author_detail": {"name": ""}, "tags": '
    b'[{"term": "", "scheme": null, "label": null}], "content": [{"type": "text/html", '
    b'"language": null, "base": "", "value": ""}], "media_content": [{"url": ""}], '
    b'"dc_identifier": "doi:10.", "prism_doi": "10.", "prism_publicationname": ""}'
)

_PUBMED_RECORD = b"""\
<PubmedArticle>
    <MedlineCitation Status="PubMed-not-MEDLINE" Owner="NLM">
      <PMID Version="1">1</PMID>
      <DateCompleted>
        <Year>2020</Year>
        <Month>01</Month>
        <Day>01</Day>
      </DateCompleted>
      <DateRevised>
        <Year>2021</Year>
        <Month>01</Month>
        <Day>01</Day>
      </DateRevised>
      <Article PubModel="Print-Electronic">
        <Journal>
          <ISSN IssnType="Electronic">0000-0000</ISSN>
          <JournalIssue CitedMedium="Internet">
            <Volume>1</Volume>
            <Issue>1</Issue>
            <PubDate>
              <Year>2021</Year>
              <Month>Jan</Month>
            </PubDate>
          </JournalIssue>
          <Title>Journal of the</Title>
          <ISOAbbreviation>J</ISOAbbreviation>
        </Journal>
        <ArticleTitle>The effect of</ArticleTitle>
        <Pagination>
          <MedlinePgn>1-10</MedlinePgn>
        </Pagination>
        <ELocationID EIdType="pii" ValidYN="Y">S0000</ELocationID>
        <ELocationID EIdType="doi" ValidYN="Y">10.1016/j.</ELocationID>
        <Abstract>
          <AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">The aim of this study was to</AbstractText>
          <AbstractText Label="METHODS" NlmCategory="METHODS">We conducted a</AbstractText>
          <AbstractText Label="RESULTS" NlmCategory="RESULTS">There was a significant</AbstractText>
          <AbstractText Label="CONCLUSIONS" NlmCategory="CONCLUSIONS">These findings suggest that the</AbstractText>
          <CopyrightInformation>Copyright \xc2\xa9 2021 Elsevier Ltd. All rights reserved.</CopyrightInformation>
        </Abstract>
        <AuthorList CompleteYN="Y">
          <Author ValidYN="Y" EqualContrib="Y">
            <LastName>Smith</LastName>
            <ForeName>John</ForeName>
            <Initials>J</Initials>
            <Identifier Source="ORCID">0000-0000-0000-0000</Identifier>
            <AffiliationInfo>
              <Affiliation>Department of Medicine, University of , China.</Affiliation>
            </AffiliationInfo>
          </Author>
          <Author ValidYN="Y">
            <CollectiveName>Group</CollectiveName>
          </Author>
        </AuthorList>
        <Language>eng</Language>
        <GrantList CompleteYN="Y">
          <Grant>
            <GrantID>R01</GrantID>
            <Acronym>NH</Acronym>
            <Agency>NIH HHS</Agency>
            <Country>United States</Country>
          </Grant>
        </GrantList>
        <PublicationTypeList>
          <PublicationType UI="D016428">Journal Article</PublicationType>
          <PublicationType UI="D016454">Review</PublicationType>
          <PublicationType UI="D013485">Research Support, Non-U.S. Gov't</PublicationType>
        </PublicationTypeList>
        <ArticleDate DateType="Electronic">
          <Year>2021</Year>
          <Month>01</Month>
          <Day>01</Day>
        </ArticleDate>
      </Article>
      <MedlineJournalInfo>
        <Country>England</Country>
        <MedlineTA>J</MedlineTA>
        <NlmUniqueID>0</NlmUniqueID>
        <ISSNLinking>0000-0000</ISSNLinking>
      </MedlineJournalInfo>
      <ChemicalList>
        <Chemical>
          <RegistryNumber>0</RegistryNumber>
          <NameOfSubstance UI="D000000">Protein</NameOfSubstance>
        </Chemical>
      </ChemicalList>
      <CitationSubset>IM</CitationSubset>
      <CommentsCorrectionsList>
        <CommentsCorrections RefType="ErratumIn">
          <RefSource>J. 2021</RefSource>
          <PMID Version="1">1</PMID>
        </CommentsCorrections>
      </CommentsCorrectionsList>
      <MeshHeadingList>
        <MeshHeading>
          <DescriptorName UI="D006801" MajorTopicYN="N">Humans</DescriptorName>
          <QualifierName UI="Q000000" MajorTopicYN="Y">metabolism</QualifierName>
        </MeshHeading>
        <MeshHeading>
          <DescriptorName UI="D008297" MajorTopicYN="N">Male</DescriptorName>
        </MeshHeading>
        <MeshHeading>
          <DescriptorName UI="D005260" MajorTopicYN="N">Female</DescriptorName>
        </MeshHeading>
      </MeshHeadingList>
      <KeywordList Owner="NOTNLM">
        <Keyword MajorTopicYN="N">COVID-19</Keyword>
      </KeywordList>
      <CoiStatement>The authors declare no conflict of interest.</CoiStatement>
    </MedlineCitation>
    <PubmedData>
      <History>
        <PubMedPubDate PubStatus="received">
          <Year>2020</Year>
          <Month>1</Month>
          <Day>1</Day>
        </PubMedPubDate>
        <PubMedPubDate PubStatus="revised">
          <Year>2020</Year>
          <Month>1</Month>
          <Day>1</Day>
        </PubMedPubDate>
        <PubMedPubDate PubStatus="accepted">
          <Year>2020</Year>
          <Month>1</Month>
          <Day>1</Day>
        </PubMedPubDate>
        <PubMedPubDate PubStatus="pubmed">
          <Year>2021</Year>
          <Month>1</Month>
          <Day>1</Day>
          <Hour>6</Hour>
          <Minute>0</Minute>
        </PubMedPubDate>
        <PubMedPubDate PubStatus="medline">
          <Year>2021</Year>
          <Month>1</Month>
          <Day>1</Day>
          <Hour>6</Hour>
          <Minute>0</Minute>
        </PubMedPubDate>
        <PubMedPubDate PubStatus="entrez">
          <Year>2021</Year>
          <Month>1</Month>
          <Day>1</Day>
          <Hour>6</Hour>
          <Minute>0</Minute>
        </PubMedPubDate>
      </History>
      <PublicationStatus>ppublish</PublicationStatus>
      <ArticleIdList>
        <ArticleId IdType="pubmed">1</ArticleId>
        <ArticleId IdType="pii">S0000</ArticleId>
        <ArticleId IdType="doi">10.1016/j.</ArticleId>
        <ArticleId IdType="pmc">PMC1</ArticleId>
      </ArticleIdList>
    </PubmedData>
  </PubmedArticle>
"""

#: The dictionary: the most common text last (zlib reaches nearer text more cheaply).
RAW_DICTIONARY: bytes = _FEED_KEYS + b"\n" + _PUBMED_RECORD
