// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title PerpExchange
/// @notice The reference perpetual-futures exchange that the local devnet and the tests deploy.
/// It is pure accounting: collateral is a number, no token moves.
/// @dev Every amount is 18-decimal fixed point (WAD, 1e18 = 1.0): sizes in base units, prices in
/// USD, collateral in USDC, ratios, funding rates and funding indices. Products are
/// mulWad(a, b) = a * b / 1e18, truncated toward zero, so off-chain code can reproduce every
/// emitted number exactly with bigint arithmetic.
///
/// The events are a fixed interface that the indexer decodes; do not change their names, types,
/// order or indexed flags.
contract PerpExchange {
    uint256 internal constant WAD = 1e18;
    uint256 public constant MAX_LEVERAGE = 50e18;
    /// @dev Inputs stay below 2^128 so that converting them to int256 is exact and they fit the
    /// packed position terms; larger intermediate products revert on overflow.
    uint256 public constant MAX_AMOUNT = type(uint128).max;

    event MarketListed(
        bytes32 indexed marketId,
        string symbol,
        bytes32 pythFeedId,
        uint256 maintenanceMarginRatio,
        uint256 liquidationFeeRatio
    );
    event PositionOpened(
        bytes32 indexed positionId,
        address indexed trader,
        bytes32 indexed marketId,
        bool isLong,
        uint256 size,
        uint256 collateral,
        uint256 leverage,
        uint256 entryPrice,
        int256 entryFundingIndex
    );
    event PositionClosed(
        bytes32 indexed positionId,
        address indexed trader,
        bytes32 indexed marketId,
        uint256 exitPrice,
        int256 realizedPnl,
        int256 fundingPaid
    );
    event PositionLiquidated(
        bytes32 indexed positionId,
        address indexed trader,
        bytes32 indexed marketId,
        address liquidator,
        uint256 liquidationPrice,
        uint256 liquidationFee,
        int256 realizedPnl
    );
    event FundingUpdated(
        bytes32 indexed marketId,
        int256 fundingRate,
        int256 cumulativeFundingIndex,
        uint256 longOpenInterest,
        uint256 shortOpenInterest,
        uint64 timestamp
    );

    error NotOwner(address caller);
    error NotKeeper(address caller);
    error InvalidKeeper(address keeper);
    error InvalidMarketId(bytes32 marketId);
    error MarketAlreadyListed(bytes32 marketId);
    error InvalidRatio(uint256 ratio);
    error UnknownMarket(bytes32 marketId);
    error MarketNotPriced(bytes32 marketId);
    error InvalidPrice(uint256 price);
    error LengthMismatch(uint256 marketIds, uint256 prices);
    error InvalidSize(uint256 size);
    error InvalidCollateral(uint256 collateral);
    error InvalidCount(uint256 count);
    error LeverageTooHigh(uint256 leverage, uint256 maxLeverage);
    error FundingIndexOutOfRange(int256 cumulativeFundingIndex);
    error UnknownPosition(bytes32 positionId);
    error NotPositionTrader(bytes32 positionId, address caller);
    error PositionHealthy(bytes32 positionId, int256 equity, uint256 maintenance);

    struct Market {
        bool listed;
        string symbol;
        bytes32 pythFeedId;
        uint256 maintenanceMarginRatio;
        uint256 liquidationFeeRatio;
        /// @dev Zero until the keeper posts the first price; positions need a price.
        uint256 markPrice;
        int256 cumulativeFundingIndex;
        /// @dev Sum of mulWad(size, entryPrice) over the open positions of each side.
        uint256 longOpenInterest;
        uint256 shortOpenInterest;
    }

    /// @dev The terms of the positions opened by one call. Positions opened together share one
    /// lot, so a position itself is a single storage slot and openPositions can emit thousands of
    /// events in one transaction.
    struct Lot {
        bytes32 marketId;
        uint128 size;
        uint128 collateral;
        uint128 entryPrice;
        int128 entryFundingIndex;
    }

    /// @dev A position exists while its trader is non-zero.
    struct Position {
        address trader;
        bool isLong;
        uint88 lotId;
    }

    struct PositionView {
        address trader;
        bytes32 marketId;
        bool isLong;
        uint256 size;
        uint256 collateral;
        uint256 entryPrice;
        int256 entryFundingIndex;
    }

    struct OpenTerms {
        bytes32 marketId;
        bool isLong;
        uint88 lotId;
        uint256 size;
        uint256 collateral;
        uint256 leverage;
        uint256 entryPrice;
        int256 entryFundingIndex;
    }

    address public immutable owner;
    address public keeper;
    /// @dev Position ids are keccak256(abi.encode(address(this), trader, nonce)) for consecutive nonces.
    uint256 public positionNonce;
    uint88 internal _lotCount;
    bytes32[] public marketIds;
    mapping(bytes32 => Market) internal _markets;
    mapping(uint88 => Lot) internal _lots;
    mapping(bytes32 => Position) internal _positions;

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyKeeper() {
        if (msg.sender != keeper) revert NotKeeper(msg.sender);
        _;
    }

    constructor(address keeper_) {
        if (keeper_ == address(0)) revert InvalidKeeper(keeper_);
        owner = msg.sender;
        keeper = keeper_;
    }

    function setKeeper(address keeper_) external onlyOwner {
        if (keeper_ == address(0)) revert InvalidKeeper(keeper_);
        keeper = keeper_;
    }

    function listMarket(
        bytes32 marketId,
        string calldata symbol,
        bytes32 pythFeedId,
        uint256 maintenanceMarginRatio,
        uint256 liquidationFeeRatio
    ) external onlyOwner {
        if (marketId == bytes32(0)) revert InvalidMarketId(marketId);
        if (_markets[marketId].listed) revert MarketAlreadyListed(marketId);
        if (maintenanceMarginRatio >= WAD) revert InvalidRatio(maintenanceMarginRatio);
        if (liquidationFeeRatio >= WAD) revert InvalidRatio(liquidationFeeRatio);
        Market storage market = _markets[marketId];
        market.listed = true;
        market.symbol = symbol;
        market.pythFeedId = pythFeedId;
        market.maintenanceMarginRatio = maintenanceMarginRatio;
        market.liquidationFeeRatio = liquidationFeeRatio;
        marketIds.push(marketId);
        emit MarketListed(marketId, symbol, pythFeedId, maintenanceMarginRatio, liquidationFeeRatio);
    }

    function setPrice(bytes32 marketId, uint256 price) external onlyKeeper {
        _setPrice(marketId, price);
    }

    function setPrices(bytes32[] calldata ids, uint256[] calldata prices) external onlyKeeper {
        if (ids.length != prices.length) revert LengthMismatch(ids.length, prices.length);
        for (uint256 i; i < ids.length; ++i) {
            _setPrice(ids[i], prices[i]);
        }
    }

    function updateFunding(bytes32 marketId, int256 fundingRate) external onlyKeeper {
        Market storage market = _pricedMarket(marketId);
        int256 index = market.cumulativeFundingIndex + _mulWad(fundingRate, int256(market.markPrice));
        // Entry indices are stored as int128 in a lot.
        if (index > type(int128).max || index < type(int128).min) revert FundingIndexOutOfRange(index);
        market.cumulativeFundingIndex = index;
        emit FundingUpdated(
            marketId,
            fundingRate,
            index,
            market.longOpenInterest,
            market.shortOpenInterest,
            uint64(block.timestamp)
        );
    }

    function openPosition(bytes32 marketId, bool isLong, uint256 size, uint256 collateral)
        external
        returns (bytes32 positionId)
    {
        OpenTerms memory terms = _openLot(marketId, isLong, size, collateral, 1);
        positionId = _placePosition(terms, positionNonce++);
    }

    /// @notice Opens `count` identical positions in one transaction, for load generation.
    function openPositions(bytes32 marketId, bool isLong, uint256 size, uint256 collateral, uint256 count)
        external
        returns (bytes32[] memory positionIds)
    {
        if (count == 0) revert InvalidCount(count);
        OpenTerms memory terms = _openLot(marketId, isLong, size, collateral, count);
        positionIds = new bytes32[](count);
        uint256 nonce = positionNonce;
        for (uint256 i; i < count; ++i) {
            positionIds[i] = _placePosition(terms, nonce + i);
        }
        positionNonce = nonce + count;
    }

    function closePosition(bytes32 positionId) external {
        Position memory position = _existingPosition(positionId);
        if (position.trader != msg.sender) revert NotPositionTrader(positionId, msg.sender);
        Lot memory lot = _lots[position.lotId];
        Market storage market = _markets[lot.marketId];
        uint256 exitPrice = market.markPrice;
        int256 fundingPaid = _fundingOwed(position.isLong, lot, market.cumulativeFundingIndex);
        int256 realizedPnl = _pricePnl(position.isLong, lot, exitPrice) - fundingPaid;
        _release(positionId, position.isLong, lot, market);
        emit PositionClosed(positionId, position.trader, lot.marketId, exitPrice, realizedPnl, fundingPaid);
    }

    /// @notice Anyone may liquidate a position whose equity is below its maintenance margin.
    function liquidate(bytes32 positionId) external {
        Position memory position = _existingPosition(positionId);
        Lot memory lot = _lots[position.lotId];
        Market storage market = _markets[lot.marketId];
        uint256 price = market.markPrice;
        int256 equity = int256(uint256(lot.collateral)) + _pricePnl(position.isLong, lot, price)
            - _fundingOwed(position.isLong, lot, market.cumulativeFundingIndex);
        uint256 markNotional = _mulWad(uint256(lot.size), price);
        uint256 maintenance = _mulWad(markNotional, market.maintenanceMarginRatio);
        if (equity >= int256(maintenance)) revert PositionHealthy(positionId, equity, maintenance);
        uint256 fee = _mulWad(markNotional, market.liquidationFeeRatio);
        _release(positionId, position.isLong, lot, market);
        emit PositionLiquidated(
            positionId, position.trader, lot.marketId, msg.sender, price, fee, -int256(uint256(lot.collateral))
        );
    }

    function marketCount() external view returns (uint256) {
        return marketIds.length;
    }

    function getMarket(bytes32 marketId) external view returns (Market memory) {
        return _listedMarket(marketId);
    }

    function getPosition(bytes32 positionId) external view returns (PositionView memory) {
        Position memory position = _existingPosition(positionId);
        Lot memory lot = _lots[position.lotId];
        return PositionView({
            trader: position.trader,
            marketId: lot.marketId,
            isLong: position.isLong,
            size: lot.size,
            collateral: lot.collateral,
            entryPrice: lot.entryPrice,
            entryFundingIndex: lot.entryFundingIndex
        });
    }

    function _openLot(bytes32 marketId, bool isLong, uint256 size, uint256 collateral, uint256 count)
        internal
        returns (OpenTerms memory terms)
    {
        Market storage market = _pricedMarket(marketId);
        if (size == 0 || size > MAX_AMOUNT) revert InvalidSize(size);
        if (collateral == 0 || collateral > MAX_AMOUNT) revert InvalidCollateral(collateral);
        uint256 entryPrice = market.markPrice;
        uint256 notional = _mulWad(size, entryPrice);
        uint256 leverage = notional * WAD / collateral;
        if (leverage > MAX_LEVERAGE) revert LeverageTooHigh(leverage, MAX_LEVERAGE);
        int256 entryFundingIndex = market.cumulativeFundingIndex;
        uint88 lotId = _lotCount++;
        _lots[lotId] = Lot({
            marketId: marketId,
            size: uint128(size),
            collateral: uint128(collateral),
            entryPrice: uint128(entryPrice),
            entryFundingIndex: int128(entryFundingIndex)
        });
        if (isLong) market.longOpenInterest += notional * count;
        else market.shortOpenInterest += notional * count;
        terms = OpenTerms({
            marketId: marketId,
            isLong: isLong,
            lotId: lotId,
            size: size,
            collateral: collateral,
            leverage: leverage,
            entryPrice: entryPrice,
            entryFundingIndex: entryFundingIndex
        });
    }

    function _placePosition(OpenTerms memory terms, uint256 nonce) internal returns (bytes32 positionId) {
        positionId = keccak256(abi.encode(address(this), msg.sender, nonce));
        _positions[positionId] = Position({trader: msg.sender, isLong: terms.isLong, lotId: terms.lotId});
        emit PositionOpened(
            positionId,
            msg.sender,
            terms.marketId,
            terms.isLong,
            terms.size,
            terms.collateral,
            terms.leverage,
            terms.entryPrice,
            terms.entryFundingIndex
        );
    }

    /// @dev Removes the position and its entry notional from its side's open interest.
    function _release(bytes32 positionId, bool isLong, Lot memory lot, Market storage market) internal {
        uint256 notional = _mulWad(uint256(lot.size), uint256(lot.entryPrice));
        if (isLong) market.longOpenInterest -= notional;
        else market.shortOpenInterest -= notional;
        delete _positions[positionId];
    }

    /// @dev s * mulWad(size, price - entryPrice), with s = +1 for a long and -1 for a short.
    function _pricePnl(bool isLong, Lot memory lot, uint256 price) internal pure returns (int256) {
        int256 pnl = _mulWad(int256(uint256(lot.size)), int256(price) - int256(uint256(lot.entryPrice)));
        return isLong ? pnl : -pnl;
    }

    /// @dev s * mulWad(size, index - entryIndex): what the position owes in funding since entry.
    function _fundingOwed(bool isLong, Lot memory lot, int256 index) internal pure returns (int256) {
        int256 owed = _mulWad(int256(uint256(lot.size)), index - int256(lot.entryFundingIndex));
        return isLong ? owed : -owed;
    }

    function _setPrice(bytes32 marketId, uint256 price) internal {
        if (price == 0 || price > MAX_AMOUNT) revert InvalidPrice(price);
        _listedMarket(marketId).markPrice = price;
    }

    function _existingPosition(bytes32 positionId) internal view returns (Position memory position) {
        position = _positions[positionId];
        if (position.trader == address(0)) revert UnknownPosition(positionId);
    }

    function _listedMarket(bytes32 marketId) internal view returns (Market storage market) {
        market = _markets[marketId];
        if (!market.listed) revert UnknownMarket(marketId);
    }

    function _pricedMarket(bytes32 marketId) internal view returns (Market storage market) {
        market = _listedMarket(marketId);
        if (market.markPrice == 0) revert MarketNotPriced(marketId);
    }

    function _mulWad(uint256 a, uint256 b) internal pure returns (uint256) {
        return a * b / WAD;
    }

    /// @dev Solidity's signed division truncates toward zero, as the off-chain math does.
    function _mulWad(int256 a, int256 b) internal pure returns (int256) {
        return a * b / int256(WAD);
    }
}
