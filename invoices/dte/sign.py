"""XMLDSig over the DTE, as the SII's schema (xmldsignature_v10.xsd) fixes it: RSA-SHA1,
SHA-1 digest, inclusive C14N, one Reference to the Documento's ID, and KeyInfo with the
key's value and the X.509 certificate."""

from typing import Any

from signxml import SignatureMethod, XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm

from billing.services.certificates import SigningKey


class _SiiSigner(XMLSigner):
    # The SII's schema admits SHA-1 only; signxml refuses it unless told otherwise.
    def check_deprecated_methods(self) -> None:
        pass


def sign(dte: Any, *, reference_id: str, key: SigningKey) -> Any:
    """The DTE with its ds:Signature as its last child."""
    signer = _SiiSigner(
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    return signer.sign(
        dte,
        key=key.private_key,
        cert=key.certificate_pem.decode(),
        reference_uri=f"#{reference_id}",
        always_add_key_value=True,
        # The schema admits one Transform; inclusive C14N is the default without one.
        exclude_c14n_transform_element=True,
    )
